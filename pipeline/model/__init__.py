"""Model layer: encoders, tokenization, precision, the NER component and its settings, rules, pipelines, training."""
