"""USB-serial provisioning: framing and command set shared by the unit and `hotline-host`.

Pure modules (imported by host/ too): constants, status, errors, framing,
messages, bundle, presence. The unit side: handlers (the command set over the
unit's files), service (pyserial on the gadget port).
"""
