"""The peer of `ae serve` for bench/serve/run.sh: FastAPI + PyTorch serving the same
model file, as a user would write it — the model read with autoencoder's `to_torch`
(the same weights and normaliser), `POST /v1/score` taking `{"rows": [[...]]}` and
answering `{"scores": [...]}` with the same `root` score, one PyTorch thread, under
uvicorn with one worker.

    MODEL=m.safetensors uvicorn torch_server:app --port 8081 --workers 1
"""

import os

import torch
from fastapi import FastAPI
from pydantic import BaseModel

import autoencoder

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
module = autoencoder.load(os.environ["MODEL"]).to_torch().eval()
app = FastAPI()


class Rows(BaseModel):
    rows: list[list[float]]


@app.post("/v1/score")
def score(req: Rows):
    x = torch.tensor(req.rows, dtype=torch.float32)
    with torch.inference_mode():
        e = module.normalize(x) - module.reconstruct_normalized(x)
        s = e.abs().sqrt().mean(dim=1)
    return {"scores": s.tolist()}


@app.get("/health")
def health():
    return {"status": "ok"}
