"""The command line shared by tools/convert/{torchvision,timm}2paper.py."""
import argparse

from ..utils import CHECKPOINT_FORMATS


def add_format_arg(parser):
    """``--format`` one of :data:`~mmresnet.utils.CHECKPOINT_FORMATS` (default: by the
    output's suffix), shared by every converter and tools/export_backbone.py."""
    parser.add_argument('--format', choices=CHECKPOINT_FORMATS,
                        help='output format (default: by the suffix of the output file; '
                        '.safetensors: tensors and a JSON header, no pickle)')
    return parser


def main(source, doc=None, argv=None):
    """Parse ``SRC DST [--form classifier|backbone] [--no-check]`` and convert."""
    from .resnet_state_dict import convert_file
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help=f'{source} ResNet state dict (.pth)')
    parser.add_argument('dst', help='output PaperResNet checkpoint (.pth or .safetensors)')
    parser.add_argument('--form', choices=('classifier', 'backbone'), default='classifier',
                        help='classifier: backbone.* + head.fc.*; backbone: detection form')
    parser.add_argument('--no-check', action='store_true',
                        help='skip the output comparison with the reference net')
    add_format_arg(parser)
    args = parser.parse_args(argv)
    meta = convert_file(args.src, args.dst, source=source, form=args.form,
                        check=not args.no_check, fmt=args.format)
    print(f"ResNet-{meta['depth']} ({meta['in_channels']} input channels, "
          f"{meta['num_classes']} classes, style='pytorch', shortcut B) -> {args.dst} "
          f"[{args.form}]")
    if 'max_abs_diff' in meta:
        print(f"output check vs mmdet ResNet + fc: max |diff| = {meta['max_abs_diff']:.2e}")
    return meta
