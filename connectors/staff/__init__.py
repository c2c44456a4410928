"""The staff side of the gateway: the console at `/staff` and the staff JSON API.

Both go through one code path: `desk.StaffDesk` does the work (and the audit), `auth`
says who is calling and whether they may, `api` and `console` only parse and format.
"""
