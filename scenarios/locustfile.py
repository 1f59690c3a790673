"""Locust workloads for the target app, to use by hand.

`pairbench serve`, then `locust -f scenarios/locustfile.py --class-picker`: one user
class per technique variant, at its default parameters. `pairbench run` does not read
this file: its load generator (pairbench.load.generator) drives Locust as a library
with the same user classes (scenarios.users).

By default a user requests its target (a route's path and params) back to back. A
technique whose workload is more than that (a browser keeping ETags, bursts after expiry)
declares a `scenario` module (in scenarios/) with `make_user(name, target) ->
type[FastHttpUser]`, or `make_users(name, target, bystander)` for a mixed workload beside
the technique's bystander route (event_loop_blocking's and upstream_timeouts').
"""

import gevent

from bench_app.techniques import all_techniques
from scenarios.users import users_for

for technique in all_techniques().values():
    for variant in technique.variants:
        class_name = f"{technique.key}__{variant}"
        for user_class in users_for(technique.key, class_name, technique.target(variant)):
            globals()[user_class.__name__] = user_class
del user_class  # else Locust would find the last class twice

# gevent's loop caches the time and has not run during the imports above, which take
# seconds on a busy machine; Locust measures --run-time from that stale clock, and
# would stop early (at once, if the imports outlast it) without this refresh.
gevent.get_hub().loop.update_now()
