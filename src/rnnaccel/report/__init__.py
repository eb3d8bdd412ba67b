"""HTML reports of flow runs and sweeps (``rnnaccel report``) and the plots they embed."""
