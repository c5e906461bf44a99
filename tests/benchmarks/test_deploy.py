"""The deployment benchmark's ratios: per round, then the median; the fastest PyTorch
entry and the fastest project path picked by speed (no timing asserted)."""
from mmresnet.benchmarks.deploy import deploy_ratios, format_deploy_table


def result(name, rounds):
    return dict(name=name, img_per_s=sorted(rounds)[len(rounds) // 2],
                img_per_s_rounds=rounds)


def ratios_of(batch, **rounds):
    """``(results, {what: ratio row})`` of entries given as ``name=[img/s per round]``
    (underscores for spaces, ``__`` for '+')."""
    results = [result(f"{k.replace('__', '+').replace('_', ' ')} [b{batch}]", v)
               for k, v in rounds.items()]
    return results, {q['what']: q for q in deploy_ratios(results, [batch])}


def test_ratios_are_medians_of_rounds_and_pick_the_fastest():
    results, ratios = ratios_of(8, torch_fp32=[1, 1, 1],
                                torch_compile_fold__bf16__CL=[4, 2, 6],
                                onnxruntime_fp32=[2, 1, 3], openvino_bf16=[4, 4, 4],
                                project_openvino_bf16=[5, 4, 6])
    best = ratios['fastest PyTorch path (int8 included) / ORT fp32']
    assert best['ours'] == 'torch compile fold+bf16+CL'
    assert ratios['fastest float PyTorch path / ORT fp32']['ours'] == best['ours']
    assert best['ratio'] == 2.0  # rounds 2, 2, 2 (the ratio of medians is 4 / 2 = 2 too)
    project = ratios['fastest project backend / OpenVINO bf16']
    assert project['ours'] == 'project openvino bf16' and project['ratio'] == 1.25
    assert ratios['PyTorch fp32 / ORT fp32']['ratio'] == 0.5
    table = format_deploy_table(dict(
        settings=dict(depth=50, size=224, threads=2, repeats=3, iters=1, batches=[8]),
        env=dict(device_name='cpu', torch='x'), results=results,
        ratios=list(ratios.values())))
    assert '| torch compile fold+bf16+CL | 4.0 |' in table
    assert 'target >= 0.95: holds' in table and 'target >= 1: holds' in table


def test_int8_ratios_against_openvino_fp32_and_bf16():
    _, ratios = ratios_of(1, openvino_fp32=[2, 2, 2], openvino_bf16=[4, 4, 4],
                          openvino_int8=[6, 4, 8], onnxruntime_fp32=[2, 2, 2],
                          onnxruntime_int8=[3, 3, 3])
    fp32 = ratios['OpenVINO int8 / fp32 (the target of AVX2 CPUs)']
    assert fp32['ratio'] == 3.0 and fp32['target'] == 1.5  # rounds 3, 2, 4
    bf16 = ratios['OpenVINO int8 / bf16 (the target of avx512_bf16 CPUs)']
    assert bf16['ratio'] == 1.5 and bf16['target'] == 1.2  # rounds 1.5, 1, 2
    assert ratios['ONNX Runtime int8 / fp32']['ratio'] == 1.5


def test_pt2e_int8_is_the_fastest_path_not_the_fastest_float_path():
    _, ratios = ratios_of(8, torch_fp32=[2, 2, 2], torch_compile_fold__CL=[3, 3, 3],
                          torch_pt2e_int8=[9, 9, 9], onnxruntime_fp32=[2, 2, 2],
                          openvino_int8=[6, 6, 6], project_openvino_fp32=[4, 4, 4],
                          openvino_fp32=[2, 2, 2])
    best = ratios['fastest PyTorch path (int8 included) / ORT fp32']
    assert best['ours'] == 'torch pt2e int8' and best['ratio'] == 4.5
    assert ratios['fastest float PyTorch path / ORT fp32']['ours'] == 'torch compile fold+CL'
    # the project's backends set against OpenVINO's float: float paths only
    assert ratios['fastest project backend / OpenVINO fp32']['ours'] == 'project openvino fp32'
    assert ratios['PyTorch PT2E int8 / fastest float PyTorch']['ratio'] == 3.0
    assert ratios['PyTorch PT2E int8 / OpenVINO int8']['ratio'] == 1.5


def test_bf16_entries_only_where_the_cpu_computes_bf16(monkeypatch, tmp_path):
    """Without native bf16 (here: forced off) neither PyTorch's nor OpenVINO's bf16 is timed:
    OpenVINO would run its bf16 hint in f32 and be named bf16."""
    import gc

    import pytest
    pytest.importorskip('openvino')
    pytest.importorskip('onnxruntime')
    from mmresnet.benchmarks.deploy import deploy_entries
    from mmresnet.engine.precision import decide_precision
    names = {}
    for value in ('0', '1'):
        monkeypatch.setenv('MMRESNET_CPU_BF16', value)
        entries, _ = deploy_entries(depth=18, batches=(1, ), size=32, num_classes=4,
                                    threads=1, compile=False, work_dir=str(tmp_path),
                                    int8=False, log=lambda *a: None)
        names[value] = {e.name for e in entries}
        del entries  # the runtimes' sessions go now, not in a later test
        gc.collect()
        assert decide_precision('cpu', 'bf16').autocast == (value == '1')
    assert not any('bf16' in n for n in names['0'] - {'project openvino fp32 [b1]'})
    assert {'openvino bf16 [b1]', 'torch bf16+CL [b1]'} <= names['1']
    assert 'project openvino fp32 [b1]' in names['0']
