-- Every vendor's readings in the shape of fct_reading (each vendor's int_<vendor>__readings).
{{ union_vendor_models('readings', ['device_key', 'vendor', 'metric', 'measured_at', 'value', 'unit', 'source', 'aggregation', 'partition_date', 'extracted_at', 'source_endpoint']) }}
