from .base import PaperModule, he_init_cfg
from .labels import check_labels
from .recipe import (NAMED_RECIPES, RecipeMismatchError, check_arch, check_normalisation,
                     checkpoint_recipe, model_recipe, module_recipe, named_recipe,
                     normalisation_recipe)
from .weights import (WeightsMismatchError, extract_state_dict, init_with_strict_pretrained,
                      load_backbone_weights, split_pretrained)

__all__ = ['PaperModule', 'he_init_cfg', 'check_labels', 'NAMED_RECIPES', 'RecipeMismatchError', 'check_arch',
           'check_normalisation', 'checkpoint_recipe', 'model_recipe', 'module_recipe',
           'named_recipe', 'normalisation_recipe',
           'WeightsMismatchError', 'extract_state_dict', 'load_backbone_weights',
           'split_pretrained', 'init_with_strict_pretrained']
