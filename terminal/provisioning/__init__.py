"""USB-serial provisioning: framing and command set shared by the unit and `hotline-host`.

Pure modules (imported by host/ too): constants, status, errors, framing,
messages, bundle, presence, args. The unit side: handlers (the command set
over the unit's config, key and journal files), service (pyserial on the
gadget port), unitconfig, journal_export, selftest_hook.

Wire: frame = COBS(length u16 | message | CRC-32 u32) + 0x00, at most
MAX_MESSAGE bytes of message; message = version u8 | kind u8 | id u16 |
command-or-status u8 | JSON object. A response carries the request's id
(0 when the request could not be read) and a status (status.WORDS);
PROGRESS responses stream before the final one.

| command          | args                                   | result                                        | button |
| ---------------- | -------------------------------------- | --------------------------------------------- | ------ |
| HELLO            | -                                      | protocol, firmware, unit_id, state, identity, peer, button_pressed | no |
| ENROL            | -                                      | created, upgraded, identity, archived_journal | if it creates or adds keys |
| EXPORT           | endpoints?                             | bundle (signed), fingerprint                  | no |
| INSTALL_PEER     | bundle, psk?, endpoints?               | peer                                          | yes |
| SET_CONFIG       | values {"section.key": value or null}  | changed                                       | for [unit] |
| SELFTEST         | -                                      | PROGRESS {check, ok, detail}...; passed, failed, ok | no |
| JOURNAL_SNAPSHOT | fresh?                                 | size, sha256                                  | no |
| JOURNAL_READ     | offset, length?                        | offset, data (base64)                         | no |
| ZEROIZE          | -                                      | zeroized                                      | yes |
"""
