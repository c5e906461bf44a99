"""The project's constants, each assigned once here and imported where it is used."""

# Image files a folder reader takes (classification folders, a user's detection folder,
# tools/infer.py on a folder): what OpenCV reads, lower-case, compared case-insensitively.
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')

# Input normalisations (mean and std per channel, in 0..255, in the channel order named).
# torchvision's ImageNet models and mmdet's pytorch-style configs:
IMAGENET_RGB = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                    channel_order='rgb')
# The MSRA caffe models (the paper's released ResNet-50/101/152; detectron2's *_caffe):
# BGR minus the per-channel mean, std 1.
CAFFE_BGR = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], channel_order='bgr')
# Detectron (v1)'s caffe models: its own pixel means.
DETECTRON_BGR = dict(mean=[102.9801, 115.9465, 122.7717], std=[1.0, 1.0, 1.0],
                     channel_order='bgr')

# The classifier's test protocols (Section 3.4): the single view, 10-crop (views averaged)
# and fully-convolutional multi-scale.
TEST_PROTOCOLS = ('single', 'ten_crop', 'multi_scale')

# Checkpoint file formats, chosen by suffix or ``--format``.
CHECKPOINT_FORMATS = ('pth', 'safetensors')

# Where an exported detector or classifier runs (tools/infer.py --backend, --precision):
# PyTorch itself, ONNX Runtime, OpenVINO; bf16 is OpenVINO's inference precision hint,
# int8 a post-training quantized file (pytorch2onnx.py --int8) on either runtime.
DEPLOY_BACKENDS = ('pytorch', 'onnxruntime', 'openvino')
DEPLOY_PRECISIONS = ('fp32', 'bf16', 'int8')
