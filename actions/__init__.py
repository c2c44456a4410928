"""Custom actions of the assistant (rasa_sdk), run by the action server:
`python -m rasa_sdk --actions actions`. Each module is one concern of the dialogue."""
