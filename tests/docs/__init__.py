"""The code examples of ZenML's artifact documentation that this SDK supports, each as the
docs write it with only the import swapped (`zenml` → `sdk`), run over both transports.

One module per docs topic: external artifacts (`test_external_artifacts.py`), registering
existing data (`test_register_artifact.py`), reading runs after execution
(`test_post_execution.py`), the loaded value of a version (`test_artifact_data.py`) and
custom materializers (`test_custom_materializers.py`), and the model fine-tuning walk-through
with the numeric custom version it saves by hand (`test_fine_tuning.py`)."""
