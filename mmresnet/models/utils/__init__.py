from .base import (FROZEN_BN_WAYS_OUT, PaperModule, frozen_bn_from_scratch_message,
                   frozen_initial_bns, he_init_cfg)
from .labels import check_labels
from .recipe import (NAMED_RECIPES, check_arch, check_normalisation, checkpoint_recipe,
                     model_recipe, module_recipe, named_recipe, normalisation_recipe)
from .weights import (extract_state_dict, init_with_strict_pretrained, load_backbone_weights,
                      split_pretrained)

__all__ = ['PaperModule', 'he_init_cfg', 'FROZEN_BN_WAYS_OUT', 'frozen_bn_from_scratch_message',
           'frozen_initial_bns', 'check_labels', 'NAMED_RECIPES', 'check_arch',
           'check_normalisation', 'checkpoint_recipe', 'model_recipe', 'module_recipe',
           'named_recipe', 'normalisation_recipe', 'extract_state_dict', 'load_backbone_weights',
           'split_pretrained', 'init_with_strict_pretrained']
