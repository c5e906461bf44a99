"""Speed measurements (not imported by ``import mmresnet``): classifier and detector
training / inference (:mod:`.models`, ``tools/benchmark.py``), the ImageNet-format input
pipeline (:mod:`.pipeline`, ``tools/benchmark_pipeline.py``) and whole training loops
(:mod:`.loop`, ``tools/benchmark_train.py``). Each prints its figures and writes JSON
(:mod:`.harness`). Nothing in the package imports them."""
