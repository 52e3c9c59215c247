"""Plug-ins for trainers that load a reward from a file: EasyR1 and ms-swift.

Both trainers import a Python *file* they are given, so each plug-in is one module here whose
path you pass to the trainer (``python -c "import visual_rewards.plugins.easyr1 as m;
print(m.__file__)"`` prints it). Neither module imports its trainer at import time.

* :mod:`visual_rewards.plugins.easyr1` -- EasyR1's ``worker.reward.reward_function``.
* :mod:`visual_rewards.plugins.ms_swift` -- ms-swift's ``--external_plugins`` (ORM registry).
"""
