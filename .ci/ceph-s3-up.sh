#!/usr/bin/env bash
# Start a one-node Ceph cluster (memstore OSD, auth off) with the RADOS gateway as a real
# S3 endpoint on loopback. Usage: ceph-s3-up.sh DIR S3_PORT MON_PORT
# Writes DIR/{mon,osd,rgw}.pid; prints nothing on success. Stop by killing those PIDs.
set -euo pipefail
D=$(realpath -m "$1"); PORT=$2; MON_PORT=$3
mkdir -p "$D"/{mon,osd0,run,log,rgw}; cd "$D"
FSID=$(python3 -c 'import uuid; print(uuid.uuid4())')
cat > ceph.conf <<CONF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 5
osd_crush_chooseleaf_type = 0
run_dir = $D/run
log_file = $D/log/\$name.log
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
[mon]
mon_data = $D/mon/\$id
[osd]
osd_data = $D/osd0
osd_objectstore = memstore
memstore_device_bytes = 1073741824
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_data = $D/rgw
CONF
monmaptool --create --add a "v2:127.0.0.1:$MON_PORT" --fsid "$FSID" monmap >/dev/null
ceph-authtool --create-keyring mon.keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-mon -c ceph.conf --mkfs -i a --monmap monmap --keyring mon.keyring
setsid ceph-mon -c ceph.conf -i a -f > log/mon.out 2>&1 & echo $! > mon.pid
OSD_UUID=$(python3 -c 'import uuid; print(uuid.uuid4())')
timeout 60 ceph -c ceph.conf osd new "$OSD_UUID" >/dev/null
ceph-osd -c ceph.conf -i 0 --mkfs --osd-uuid "$OSD_UUID" > log/osd-mkfs.out 2>&1
setsid ceph-osd -c ceph.conf -i 0 -f > log/osd.out 2>&1 & echo $! > osd.pid
setsid radosgw -c ceph.conf -n client.rgw -f > log/rgw.out 2>&1 & echo $! > rgw.pid
for _ in $(seq 1 240); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.25
done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/"
timeout 60 radosgw-admin -c ceph.conf -n client.admin user create --uid=loopml \
  --display-name=loopml --access-key=LOOPMLTESTKEY --secret-key=LOOPMLTESTSECRET123 >/dev/null
