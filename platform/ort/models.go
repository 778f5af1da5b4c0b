package ort

import (
	"fmt"

	"github.com/clipmesh/clipmesh/platform/models"
)

// RuntimeModel is the models-manifest entry of the ONNX Runtime library.
const RuntimeModel = "onnxruntime"

// InitFromModels starts ONNX Runtime from the library in the models cache
// dir (models.Dir), so every service finds it the same way; a missing
// library is models' error, which names `clipmesh models fetch`.
func InitFromModels(dir string) error {
	lib, err := models.Path(dir, RuntimeModel)
	if err != nil {
		return err
	}
	if err := Init(lib); err != nil {
		return fmt.Errorf("onnxruntime: %w (run `%s`)", err, models.FetchCommand(dir))
	}
	return nil
}
