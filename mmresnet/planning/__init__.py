"""The demo's plan for a data set (``tools/demo.py``), before anything trains: the C4
detector sized to the boxes (:mod:`.sizing`), the schedules of both loop kinds fitted to a
time budget (:mod:`.schedule`), the speed probe that measures this machine
(:mod:`.probe`), the configs pointed at the data and written (:mod:`.configs`), and the
whole plan with its printout (:mod:`.plan`). Not imported by ``import mmresnet``."""
