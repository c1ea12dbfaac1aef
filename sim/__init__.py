"""Data, not code: installed as ``hwact._sim`` and found with :func:`hwact.resources.sim_dir`."""
