"""What the command-line tools call (not imported by ``import mmresnet``):

- :mod:`.runner`: mmdet's command-line flags (``--work-dir --resume --amp
  --auto-scale-lr --cfg-options --launcher``) to :func:`mmresnet.config.prepare_config` and
  an MMEngine Runner (``tools/train.py``, ``tools/test.py``, ``tools/demo.py``);
  :mod:`.config_check` refuses mixed precision without a GPU.
- :mod:`.inference`: detection on image files with MMDetection's ``DetInferencer``
  (``tools/infer.py``).
- :mod:`.demo`: the demo's stages (``tools/demo.py``) after the plan of
  :mod:`mmresnet.planning`.
"""
