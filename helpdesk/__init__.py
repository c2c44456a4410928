"""The helpdesk: conversations and transcripts, tickets and handoff, staff, audit, retention.

Modules: `models` (tables), `conversations` (transcript, delivery, handoff state),
`tickets` (codes, priorities, claim/transfer/resolve, callbacks), `queue` (the staff work
queue), `notes` (private ticket notes), `canned` (canned replies), `escalation` (unclaimed
urgent tickets), `reports` (the supervisor's figures), `privacy` (deletion on request,
retention purge), `staff` (accounts), `sessions` (console logins), `hours` (staff hours),
`codes`, `audit`, `errors`, and `cli` (`hotline staff`, `hotline purge`). Every function
takes the caller's `Session` and leaves the commit to it.
"""
