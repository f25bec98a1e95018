"""Self-tests: power-on checks that keep a broken unit off the line, scheduled hardware and link tests.

    verdict = run_post(config_path, record=journal_recorder(journal.append), fault_led=led_switch(led))
    if not verdict.go_on_line: serve provisioning only (provisioning_runner(config_path) shows why)

    summary = await run_selftest(SelfTestContext.for_unit(unit, **hardware_parts(hw), loopback=...),
                                 record=..., fault_led=...)
    summary.exit_code, summary.as_dict(), summary.by_name()

`Schedule` says when the next scheduled run is due (sans-I/O) and `SelfTestTimer`
drives it on the loop; `register_control` adds the daemon's `selftest.run`,
`commands.register` adds `hotline selftest`, `sim.sim_selftest` serves `hotline sim`.
"""
