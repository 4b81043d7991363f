"""ONNX Runtime vs PyTorch on one forward pass of the shipped model (8 windows x 200 positions,
best of 4): float32 and int8 each. Needs `pip install onnxruntime==1.20.1 onnx` (not a project
dependency). Run from the repository root: .venv/bin/python models/recipes/ort-probe.py"""
import os
import time
import warnings

import torch

os.makedirs("runs/ort", exist_ok=True)
warnings.filterwarnings("ignore")
torch.set_num_threads(2)
from pipeline.model.ner import load_base_model
from pipeline.model import precision
m, tok = load_base_model("models/govreport-ner", ["PROJECT","METRIC","TARGET","VALUE"])
m.eval()
class Wrap(torch.nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, input_ids, attention_mask): return s.m(input_ids=input_ids, attention_mask=attention_mask).logits
w = Wrap(m).eval()
g = torch.Generator().manual_seed(0)
ids = torch.randint(5, 10000, (8, 200), generator=g); mask = torch.ones_like(ids)
t=time.time()
try:
    torch.onnx.export(w, (ids, mask), "runs/ort/fp32.onnx", input_names=["input_ids","attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids":{0:"b",1:"n"},"attention_mask":{0:"b",1:"n"},"logits":{0:"b",1:"n"}}, opset_version=17, dynamo=False)
except Exception as e:
    print("export failed", type(e).__name__, str(e)[:300]); raise
print("export", time.time()-t)
import onnxruntime as ort
from onnxruntime.quantization import quantize_dynamic, QuantType
quantize_dynamic("runs/ort/fp32.onnx", "runs/ort/int8.onnx", weight_type=QuantType.QInt8, per_channel=True)
so = ort.SessionOptions(); so.intra_op_num_threads = 2
s32 = ort.InferenceSession("runs/ort/fp32.onnx", so, providers=["CPUExecutionProvider"])
s8 = ort.InferenceSession("runs/ort/int8.onnx", so, providers=["CPUExecutionProvider"])
_, tq = precision.prepare(m, "int8")
feeds = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
def bench(fn, n=4):
    fn(); ts=[]
    for _ in range(n):
        t=time.time(); fn(); ts.append(time.time()-t)
    return min(ts)
with torch.inference_mode():
    ref = w(ids, mask).numpy()
    r = {}
    r["torch fp32"] = bench(lambda: w(ids, mask))
    r["torch int8 (shipped)"] = bench(lambda: tq(input_ids=ids, attention_mask=mask))
    r["ort fp32"] = bench(lambda: s32.run(None, feeds))
    r["ort int8 all"] = bench(lambda: s8.run(None, feeds))
    o32 = s32.run(None, feeds)[0]; o8 = s8.run(None, feeds)[0]; q = tq(input_ids=ids, attention_mask=mask).logits.float().numpy()
for k, v in r.items(): print(f"{k:22s} {v:.3f}s  {r['torch fp32']/v:.2f}x")
print("argmax agree ort32", (o32.argmax(-1)==ref.argmax(-1)).mean(), "ort8", (o8.argmax(-1)==ref.argmax(-1)).mean(), "torch8", (q.argmax(-1)==ref.argmax(-1)).mean())
