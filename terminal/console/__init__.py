"""The duty officer's desk console (textual), a client of the control socket."""
