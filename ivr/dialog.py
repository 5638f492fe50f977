"""Runs calls: the pure engine, the services it asks for data, and the call record, for every transport.

Transports use only this interface:

    call, turn = dialog.start(channel="asterisk", call_ref=uniqueid, caller=agi_callerid)
    while not turn.final:
        digits = ...play turn, collect keys ('' when nothing was pressed in time)...
        turn = dialog.resume(call, digits)
    dialog.finish(call, hung_up=False)      # or hung_up=True when the caller went away mid-turn

Stateless webhooks (Twilio, USSD) call `dialog.handle(...)`, which loads the call's state from the
call record, advances it and stores it again in one go.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivr.engine import Answer, Flow, Input, Query, Start, State, step
from ivr.logs import get_logger
from ivr.menus import FLOWS
from ivr.turns import Gather, Hangup, Lang, Say, Transfer, Turn, turn_from_json, turn_to_json

log = get_logger(__name__)
APOLOGY = (Say("common.sorry_error"),)


class Backend(Protocol):
    """What the dialog needs from the outside: answers to queries, and the call record."""

    def answer(self, query: Query, state: State) -> Mapping[str, Any]: ...

    def open_call(
        self, *, channel: str, call_ref: str, caller: str | None, direction: str, outbound_ref: str | None = None
    ) -> int: ...

    def load_call(self, channel: str, call_ref: str) -> tuple[int, State | None, bool] | None: ...

    def save_call(self, call_id: int, state: State) -> None: ...

    def close_call(
        self,
        call_id: int,
        state: State,
        *,
        outcome: str,
        duration_s: int | None = None,
        fault: str | None = None,
    ) -> None: ...


class WebhookDialog(Protocol):
    """What a stateless webhook (Twilio, USSD) needs of the dialog; `Dialog` is the real one."""

    def handle(
        self,
        *,
        channel: str,
        call_ref: str,
        caller: str | None,
        digits: str | None,
        lang: Lang | None = None,
        called: str | None = None,
        flow: str = "inbound",
        params: Mapping[str, Any] | None = None,
        outbound_ref: str | None = None,
        request_key: str | None = None,
    ) -> Turn: ...

    def hangup(self, channel: str, call_ref: str, *, duration_s: int | None = None) -> None: ...

    def language(self, channel: str, call_ref: str) -> Lang | None: ...


@dataclass
class Call:
    """One live call: its record id, its dialog state, and the last Turn given to the transport."""

    record_id: int
    channel: str
    call_ref: str
    state: State
    turn: Turn
    finished: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Dialog:
    """The one runner every transport uses (see the module docstring)."""

    def __init__(self, backend: Backend, *, flows: Mapping[str, Flow] | None = None, agent_queue: str = "1912") -> None:
        self.backend = backend
        self.flows = dict(flows or FLOWS)
        self.agent_queue = agent_queue

    # --- connection-holding transports (FastAGI, AGI script) -----------------------------------------

    def start(
        self,
        *,
        channel: str,
        call_ref: str,
        caller: str | None,
        called: str | None = None,
        flow: str = "inbound",
        lang: Lang = "hi",
        params: Mapping[str, Any] | None = None,
        direction: str | None = None,
        outbound_ref: str | None = None,
    ) -> tuple[Call, Turn]:
        """Open the call's record and give its first Turn.

        A call we placed (an alert) carries `outbound_ref`, our own reference given when it was placed;
        it rides in the dialog's parameters and is kept on the record (itself kept under the provider's
        call id), which tells the one who placed the call that the call's flow ran.
        """
        if outbound_ref:
            direction = "outbound"
        direction = direction or ("outbound" if flow != "inbound" else "inbound")
        params = dict(params or {})
        if outbound_ref:
            params["outbound_ref"] = outbound_ref
        if direction == "outbound" and params.get("to"):
            # On a call we placed, the line's caller ID is our own number: the consumer is the one called.
            caller = str(params["to"])
        if channel == "ussd":
            params.setdefault("greet", False)  # a screen shows the menu at once; there is no spoken welcome
        record_id = self.backend.open_call(
            channel=channel, call_ref=call_ref, caller=caller, direction=direction, outbound_ref=outbound_ref or None
        )
        start = Start(channel, call_ref, caller, lang, {**params, "flow": flow, "called": called})
        state, turn = self._advance(None, start)
        account = params.get("account")
        if direction == "outbound" and isinstance(account, str) and len(account) == 10 and account.isdigit():
            state["account"] = account  # an alert names the account it was sent for: its record carries it
        call = Call(record_id, channel, call_ref, state, turn)
        return call, turn

    def resume(self, call: Call, digits: str) -> Turn:
        with call.lock:
            if call.finished or call.turn.final:
                raise RuntimeError("the call has ended")
            call.state, call.turn = self._advance(call.state, Input(digits))
            return call.turn

    def finish(
        self,
        call: Call,
        *,
        hung_up: bool,
        duration_s: int | None = None,
        fault: str | None = None,
        transferred: bool = False,
    ) -> None:
        """Record the call's end; safe to call twice.

        `fault`: what went wrong on the transport's side (a prompt Asterisk could not play, no reply), recorded
        as the call's system fault; `transferred`: the transport handed the caller to the agents itself (after
        an apology), so the outcome ends in `transfer` after the services the call used.
        """
        with call.lock:
            if call.finished:
                return
            call.finished = True
            fault = fault or call.state.get("fault")
            hung_up = hung_up and not call.turn.final
            outcome = self._outcome(call.state, hung_up=hung_up, transferred=transferred, fault=fault)
            self.backend.close_call(call.record_id, call.state, outcome=outcome, duration_s=duration_s, fault=fault)

    # --- stateless webhooks (Twilio, USSD) --------------------------------------------------------------

    def handle(
        self,
        *,
        channel: str,
        call_ref: str,
        caller: str | None,
        digits: str | None,
        lang: Lang | None = None,
        called: str | None = None,
        flow: str = "inbound",
        params: Mapping[str, Any] | None = None,
        outbound_ref: str | None = None,
        request_key: str | None = None,
    ) -> Turn:
        """One webhook request: start or resume the call kept in its record, save it, close it when final.

        `digits=None` asks for the first turn (a new call, or the provider repeating its first request).
        `request_key` names the request (USSD: the whole `text` so far): the same key again is a gateway's
        retry and gets the same Turn back without advancing the call, whichever web process it reaches.
        Screens (USSD) start in English, voice in Hindi, unless `lang` says otherwise.
        """
        lang = lang or ("en" if channel == "ussd" else "hi")
        found = self.backend.load_call(channel, call_ref)
        if found is not None and found[2]:
            # The call has already finished (a late retry): say goodbye rather than start again.
            return Turn(lang, (Say("common.goodbye"),), Hangup())
        if found is None or found[1] is None or digits is None:
            call, turn = self.start(
                channel=channel,
                call_ref=call_ref,
                caller=caller,
                called=called,
                flow=flow,
                lang=lang,
                params=params,
                outbound_ref=outbound_ref,
            )
        else:
            record_id, state, _ = found
            assert state is not None
            if request_key is not None and state.get("last_request") == request_key and state.get("last_turn"):
                return turn_from_json(state["last_turn"])
            call = Call(record_id, channel, call_ref, state, Turn(state["lang"], (), Gather()))
            turn = self.resume(call, digits)
        if turn.final:
            self.finish(call, hung_up=False)
        else:
            if request_key is not None:
                call.state = {**call.state, "last_request": request_key, "last_turn": turn_to_json(turn)}
            self.backend.save_call(call.record_id, call.state)
        return turn

    def hangup(self, channel: str, call_ref: str, *, duration_s: int | None = None) -> None:
        """The provider says the call or session ended."""
        found = self.backend.load_call(channel, call_ref)
        if found is None:
            return
        record_id, state, ended = found
        # On a call already closed only the provider's duration is taken (it is what the trunk bills).
        state = state or {"served": [], "outcome": None}
        outcome = "" if ended else self._outcome(state, hung_up=True)
        self.backend.close_call(record_id, state, outcome=outcome, duration_s=duration_s, fault=state.get("fault"))

    def language(self, channel: str, call_ref: str) -> Lang | None:
        """The language a webhook call or session is in now, or None when there is no such call."""
        found = self.backend.load_call(channel, call_ref)
        if found is None or not found[1]:
            return None
        lang = found[1].get("lang")
        return "hi" if lang == "hi" else "en" if lang == "en" else None

    # --- inside ---------------------------------------------------------------------------------------------

    def _advance(self, state: State | None, resume: Start | Input) -> tuple[State, Turn]:
        """Step the engine, answering its queries, until it has something to say. Any failure: an apology
        and the agents' queue, so the caller never hears dead air."""
        try:
            new_state, out = step(self.flows, state, resume)
            for _ in range(20):
                if isinstance(out, Turn):
                    return new_state, out
                result = self.backend.answer(out, new_state)
                new_state, out = step(self.flows, new_state, Answer(result))
            raise RuntimeError("the dialog asked too many questions in a row")
        except Exception as exc:
            log.exception("dialog failed; apologising and transferring the caller")
            failed = dict(state or {"served": [], "path": [], "lang": getattr(resume, "lang", "hi")})
            # What the call got done so far still counts; the failure is a system fault, not the caller's choice.
            failed["outcome"] = "+".join([*(failed.get("served") or []), "transfer"])
            failed["fault"] = f"dialog failed: {type(exc).__name__}"
            failed["node"] = None
            return failed, Turn(failed.get("lang", "hi"), APOLOGY, Transfer(self.agent_queue))

    @staticmethod
    def _outcome(state: State, *, hung_up: bool, transferred: bool = False, fault: str | None = None) -> str:
        """Every service the call used, in order, and `transfer` last when it went to the agents."""
        if state.get("outcome") and not hung_up:
            return str(state["outcome"])
        served = list(state.get("served") or [])
        if transferred and "transfer" not in served:
            served.append("transfer")
        if served:
            return "+".join(served)
        # Callers end most calls by hanging up once served; a call that got nothing done is abandoned, unless our
        # side spoilt it.
        return "system_fault" if fault else "abandoned" if hung_up else "no_service"
