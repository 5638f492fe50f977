"""The Hindi IVR and USSD dialogs and their transports (filled by the IVR issue)."""
