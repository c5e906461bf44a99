# The paper's detector (He et al. 2015, Section 4.3, Table 8): Faster R-CNN with a
# ResNet-101 backbone in the C4 design, trained on COCO train2017, evaluated on val2017.
# Caffe style, as the paper's released models; torchvision ResNet-101 weights go with the
# pytorch-style twin, configs/faster_rcnn/faster-rcnn_paper-r101-pytorch-c4_1x_coco.py.
# Backbone and conv5_x head from a PaperResNet-101 classification checkpoint:
#   python tools/export_backbone.py work_dirs/<imagenet run>/epoch_N.pth \
#       checkpoints/paper_resnet101_backbone.pth
#   python tools/train.py configs/faster_rcnn_r101_coco.py [--amp] [--auto-scale-lr]
#   bash tools/dist_train.sh configs/faster_rcnn_r101_coco.py 8
_base_ = './faster_rcnn/faster-rcnn_paper-r101-caffe-c4_1x_coco.py'
