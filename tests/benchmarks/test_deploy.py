"""The deployment benchmark's ratios: per round, then the median; the fastest PyTorch
entry and the fastest project path picked by speed (no timing asserted)."""
from mmresnet.benchmarks.deploy import deploy_ratios, format_deploy_table


def result(name, rounds):
    return dict(name=name, img_per_s=sorted(rounds)[len(rounds) // 2],
                img_per_s_rounds=rounds)


def test_ratios_are_medians_of_rounds_and_pick_the_fastest():
    results = [result('torch fp32 [b8]', [1, 1, 1]),
               result('torch compile fold+bf16+CL [b8]', [4, 2, 6]),
               result('onnxruntime fp32 [b8]', [2, 1, 3]),
               result('openvino bf16 [b8]', [4, 4, 4]),
               result('project openvino bf16 [b8]', [5, 4, 6])]
    ratios = {q['what']: q for q in deploy_ratios(results, [8])}
    best = ratios['fastest PyTorch path / ORT fp32']
    assert best['ours'] == 'torch compile fold+bf16+CL'
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
    results = [result('openvino fp32 [b1]', [2, 2, 2]),
               result('openvino bf16 [b1]', [4, 4, 4]),
               result('openvino int8 [b1]', [6, 4, 8]),
               result('onnxruntime fp32 [b1]', [2, 2, 2]),
               result('onnxruntime int8 [b1]', [3, 3, 3])]
    ratios = {q['what']: q for q in deploy_ratios(results, [1])}
    fp32 = ratios['OpenVINO int8 / fp32 (the target of AVX2 CPUs)']
    assert fp32['ratio'] == 3.0 and fp32['target'] == 1.5  # rounds 3, 2, 4
    bf16 = ratios['OpenVINO int8 / bf16 (the target of avx512_bf16 CPUs)']
    assert bf16['ratio'] == 1.5 and bf16['target'] == 1.2  # rounds 1.5, 1, 2
    assert ratios['ONNX Runtime int8 / fp32']['ratio'] == 1.5
