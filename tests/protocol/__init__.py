"""Protocol tests: transports over their real wire (AGI over TCP, signed webhooks, USSD posts)."""
