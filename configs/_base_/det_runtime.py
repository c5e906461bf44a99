# Runtime of the detection configs: the shared runtime plus mmdet's visualizer and the
# DetVisualizationHook (tools/test.py --show-dir draws predicted boxes through it).
_base_ = './default_runtime.py'
default_hooks = dict(visualization=dict(type='DetVisualizationHook'))
visualizer = dict(type='DetLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
