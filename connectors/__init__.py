"""The gateway: every channel (web chat, REST API, Telegram, Zalo OA, Zalo Bot) through one
router to the Rasa server or to the staff, with the outbound path back to the person.

Start it with `python -m connectors` (what `hotline run` does), or build the app with
`connectors.app.create_app(settings)`. Importing this package does no work.
"""
