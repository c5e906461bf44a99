"""Deployment: ONNX export of the project's classifiers and Faster R-CNN detectors, its
check against PyTorch, and the exported file run by ONNX Runtime or OpenVINO
(docs/deploy.md). Not imported by ``import mmresnet``; ``onnx``, ``onnxruntime``,
``openvino`` and ``nncf`` are the ``deploy`` extra (``pip install 'mmresnet[deploy]'``),
imported only when a function needs them. Training never imports this package.

- :mod:`.export`: config + checkpoint -> ``.onnx`` (``tools/deployment/pytorch2onnx.py``);
- :mod:`.verify`: the exported file checked against PyTorch (``--verify``,
  ``--verify-test-set``);
- :mod:`.common`: what they share (the extra's imports, an image through the test
  pipeline, random inputs, predictions as numpy);
- :mod:`.detector`: Faster R-CNN's test-time forward written for export (a batch of
  images, ``dets`` and ``labels`` padded to K an image out);
- :mod:`.ops`: RoIAlign and NMS as standard ONNX operators;
- :mod:`.runtime`: the ``onnxruntime`` and ``openvino`` backends and a detector model
  around them (``tools/infer.py --backend``);
- :mod:`.quantize`: post-training int8 of an exported file, calibrated on the config's
  training set (``pytorch2onnx.py --int8``; NNCF for OpenVINO, ONNX Runtime's static QDQ);
- :mod:`.pt2e`: int8 in PyTorch itself (torchao's PT2E, compiled), the PyTorch path of CPUs
  without native bf16: evaluated by ``pytorch2onnx.py --pytorch-int8``, timed by
  ``tools/benchmark.py --deploy``.
"""
