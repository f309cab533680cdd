-- Every vendor's devices in one shape (each vendor's int_<vendor>__devices).
{{ union_vendor_models('devices', ['vendor', 'native_id', 'name', 'kind', 'status', 'timezone', 'latitude', 'longitude', 'group_name', 'first_seen_at', 'last_seen_at']) }}
