#!/usr/bin/env bash
# The speed targets' measurements on a GPU machine, in steps that each fit one device call.
#
#   bash tools/gpu_benchmarks.sh STEP [OUT_DIR]
#   STEP: cls | det | cifar | cifar-full | pipeline | all      OUT_DIR: work_dirs/gpu_bench
#
# cls        PaperResNet-50 vs mmdet ResNet-50 vs torchvision resnet50, batch 256, bf16 AMP,
#            channels_last, torch.compile: training step img/s (target >= 7000, >= 1.25x tv)
# det        faster_rcnn_r101_coco.py (C4) and the R-101 FPN config vs mmdet's stock
#            R-101-FPN, and C4 vs mmdet's stock C4 at depth 101; 8 images 800x1216, fp16
#            AMP, channels_last (target >= 1.3x)
# cifar      ResNet-20 / ResNet-110 fast configs: DataLoader loop vs data on the GPU, whole
#            iterations, and the projected 64k-iteration time (targets 3 / 12 min); then
#            ResNet-20 with MMEngine's per-iteration host reads put back (the A/B of
#            LazyRuntimeInfoHook + guard interval + AutocastOptimWrapper)
# cifar-full the real 64k-iteration ResNet-20 and -110 runs on synthetic CIFAR-shaped data
# pipeline   ImageNet-format input pipeline per decoder, 8 and 16 workers, vs 7000 img/s;
#            then ResNet-50 training end to end on those JPEGs vs synthetic crops (>= 0.8)
set -euo pipefail
STEP=${1:-all}
OUT=${2:-work_dirs/gpu_bench}
PY=${PYTHON:-python}
mkdir -p "$OUT"

run_cls() {
  $PY tools/benchmark.py --model classifier --depth 50 --batch 256 --size 224 --dtype bf16 \
    --channels-last --compile --modes train --no-fold-bn --warmup 10 --iters 20 --repeats 3 \
    --out "$OUT/cls_r50_b256_bf16_cl_compile.json"
  $PY tools/benchmark.py --model classifier --depth 50 --batch 256 --size 224 --dtype bf16 \
    --channels-last --modes train --no-fold-bn --warmup 5 --iters 20 --repeats 3 \
    --out "$OUT/cls_r50_b256_bf16_cl_eager.json"
}
run_det() {
  $PY tools/benchmark.py --model detector --config configs/faster_rcnn_r101_coco.py \
    --batch 8 --size 800 1216 --dtype fp16 --channels-last --modes train --warmup 3 \
    --iters 5 --repeats 3 --out "$OUT/det_r101_c4_b8_fp16.json"
  # the same C4 work in mmdet's stock form: its caffe C4 config at depth 101 (the shared
  # conv5 head is the same for 50 and 101)
  $PY tools/benchmark.py --model detector --config configs/faster_rcnn_r101_coco.py \
    --ref-config mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py \
    --cfg-options model.backbone.depth=101 --batch 8 --size 800 1216 --dtype fp16 \
    --channels-last --modes train --warmup 3 --iters 5 --repeats 3 \
    --out "$OUT/det_r101_c4_vs_stock_c4_b8_fp16.json"
  $PY tools/benchmark.py --model detector \
    --config configs/faster_rcnn/faster-rcnn_paper-r101-caffe-fpn_1x_coco.py --batch 8 \
    --size 800 1216 --dtype fp16 --channels-last --modes train --warmup 3 --iters 5 \
    --repeats 3 --out "$OUT/det_r101_fpn_b8_fp16.json"
}
run_cifar() {
  for d in 20 110; do
    $PY tools/benchmark_train.py "configs/cifar/paper-resnet${d}_b128-64k_cifar10_fast.py" \
      --iters 1000 --warmup 100 --out "$OUT/cifar_r${d}_loops.json"
  done
  # A/B of the sync-free iteration: the same ResNet-20 fast config with MMEngine's stock
  # host reads back (log values and NaN guard every iteration, AmpOptimWrapper's GradScaler)
  $PY tools/benchmark_train.py configs/cifar/paper-resnet20_b128-64k_cifar10_fast.py \
    --loops DeviceIterBasedTrainLoop --iters 1000 --warmup 100 --cfg-options \
    default_hooks.runtime_info.type=RuntimeInfoHook default_hooks.nan_guard.interval=1 \
    optim_wrapper.type=AmpOptimWrapper --out "$OUT/cifar_r20_with_syncs.json"
}
run_cifar_full() {
  for d in ${DEPTHS:-20 110}; do  # ResNet-110 alone may outlast a 10-minute device call
    local start=$(date +%s)
    $PY tools/train.py "configs/benchmarks/paper-resnet${d}_b128-64k_synthetic_fast.py" \
      --work-dir "$OUT/cifar_r${d}_full"
    echo "ResNet-${d}: 64k iterations with 32 validations took $(( $(date +%s) - start )) s" \
      | tee -a "$OUT/cifar_full_times.txt"
  done
}
run_pipeline() {
  # writes 2048 ImageNet-shaped JPEGs under work_dirs/pipeline_bench/jpegs2048 once
  $PY tools/benchmark_pipeline.py --num-images 2048 --workers 8 16 --batch 256 --batches 8 \
    --target 7000 --out "$OUT/pipeline.json"
  # end to end: the JPEG pipeline with 15 workers vs decoded synthetic crops, same model
  $PY tools/benchmark_train.py configs/resnet/paper-resnet50_b256_imagenet_fast.py \
    --loops IterBasedTrainLoop --data synthetic real --iters 40 --warmup 15 --cfg-options \
    train_dataloader.dataset.type=ImageListDataset \
    train_dataloader.dataset.data_root=work_dirs/pipeline_bench/jpegs2048 \
    train_dataloader.dataset.ann_file=train.txt train_dataloader.batch_size=256 \
    train_dataloader.num_workers=15 --out "$OUT/imagenet_end_to_end.json"
}
case "$STEP" in
  cls) run_cls ;;
  det) run_det ;;
  cifar) run_cifar ;;
  cifar-full) run_cifar_full ;;
  pipeline) run_pipeline ;;
  all) run_cls; run_det; run_cifar; run_pipeline ;;
  *) echo "unknown step '$STEP'; allowed: cls det cifar cifar-full pipeline all" >&2; exit 2 ;;
esac
