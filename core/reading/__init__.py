"""Reading a .tflite file: the object model (model.py), the reader that fills it from the
flatbuffer (reader.py, the only module that touches the schema), TFLite metadata, flexbuffers,
tensor values viewed in place (tensor_data.py) and the label files a model carries."""
