# Runtime of the detection configs: the shared runtime plus mmdet's visualizer and the
# DetVisualizationHook (tools/test.py --show-dir draws predicted boxes through it).
_base_ = './default_runtime.py'
default_hooks = dict(visualization=dict(type='DetVisualizationHook'))
# vis_backends: the shared runtime's (default_runtime.py), read through its visualizer.
visualizer = dict(type='DetLocalVisualizer', name='visualizer')
