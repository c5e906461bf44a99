# The from-scratch twin of faster-rcnn_paper-r18-c4_demo.py (tools/demo.py --from-scratch):
# the same detector, data and schedule, without the classification pretraining. With no
# pretrained statistics to freeze (Section 4.3 freezes BN after ImageNet), BN learns, and
# the weights start from He init (Section 3.4). tools/demo.py trains it for as long as
# the pretrained pipeline took (pretraining + export + fine-tuning).
_base_ = ['./faster-rcnn_paper-r18-c4_demo.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    roi_head=dict(shared_head=dict(norm_cfg=norm_cfg, norm_eval=False, init_cfg=None)))
