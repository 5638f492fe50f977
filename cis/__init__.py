"""The utility's records (CIS) and the use cases on them; no telephony here."""
