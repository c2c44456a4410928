"""Channel adapters: turning each platform's updates into `Inbound` messages, and sending
replies back through each platform's API. `base` holds what they share."""
