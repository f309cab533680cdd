-- Device tags of the vendors that tag devices (their int_<vendor>__device_tags).
{{ union_vendor_models('device_tags', ['vendor', 'native_id', 'tags'], vendors=['bagtower']) }}
