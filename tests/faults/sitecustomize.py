"""Run at the start of every Python process that has this folder on ``PYTHONPATH`` (the reliability tests' child
and worker processes): listen for kill points and trace as ``MEDLT_KILL_AT`` / ``MEDLT_TRACE`` say."""

import medlt_faults

medlt_faults.install_from_environ()
