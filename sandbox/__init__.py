"""Local, stateful stand-ins for Dataverse (with its Entra ID token endpoint) and Dotdigital.

Dev-only: they speak the documented protocols over real HTTP so the clients can be tested
without mocks, and never ship to Azure.

    from sandbox.launch import start_sandboxes

    with start_sandboxes() as sandboxes:
        sandboxes.settings_env()                 # DATAVERSE_*, DOTDIGITAL_*, HTTP_CA_BUNDLE
        sandboxes.dataverse.throttle_next(3, retry_after=2)
        sandboxes.dotdigital.faults.set_error_rate(503, 0.2)
        sandboxes.dotdigital.counters.by_route()  # {(method, path template): calls}

`python -m sandbox.launch` runs both until Ctrl-C and prints the settings to use.
"""
