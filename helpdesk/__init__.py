"""The helpdesk: conversations and transcripts, tickets and handoff, staff, audit, retention.

Modules: `models` (tables), `conversations` (transcript, delivery, handoff state),
`tickets` (codes, priorities, claim/transfer/resolve, callbacks), `privacy` (deletion on
request, retention purge), `staff` (accounts), `hours` (staff hours), `codes`, `audit`,
`errors`. Every function takes the caller's `Session` and leaves the commit to it.
"""
