"""The MLflow model of a run's word vectors, logged as code (MLflow's models-from-code: this
file is the model's definition, so loading it unpickles nothing).

Input: a DataFrame with a ``word`` column. Output per word: ``neighbours`` (the ``topn`` nearest
words by cosine; param ``topn``, default 10), their ``cosines`` and the ``vector`` (empty lists
for a word not in the vocabulary). The vectors travel as the artifact ``vectors`` (an nbw2v
``.npz``). Loading needs nbw2v installed (the model's pip requirements say which version).
"""

from __future__ import annotations

import mlflow
from mlflow.pyfunc import PythonModel


class WordVectorsModel(PythonModel):
    #: the model declares an explicit signature (logged with it), so MLflow's type-hint checks
    #: of predict, and their warning, are not needed
    _skip_type_hint_validation = True

    def __init__(self, emb=None):
        self.emb = emb

    def load_context(self, context):
        from nbw2v.embeddings import Embeddings

        self.emb = Embeddings.load(context.artifacts["vectors"])

    def predict(self, context, model_input, params=None):
        import pandas as pd

        topn = int((params or {}).get("topn", 10))
        words = [str(w) for w in model_input["word"]]
        hits = [self.emb.most_similar(w, topn=topn) if w in self.emb else [] for w in words]
        return pd.DataFrame(
            {
                "word": words,
                "neighbours": [[h[0] for h in hit] for hit in hits],
                "cosines": [[float(h[1]) for h in hit] for hit in hits],
                "vector": [self.emb[w].astype(float).tolist() if w in self.emb else [] for w in words],
            }
        )


mlflow.models.set_model(WordVectorsModel())
