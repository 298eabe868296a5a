# Starts a throwaway nginx on a free loopback port: start_nginx DIR -> sets NGINX_PORT.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_nginx() {
  local dir=$1
  NGINX_PORT=$(free_port)
  mkdir -p "$dir/tmp"
  cat > "$dir/nginx.conf" <<CONF
daemon on; worker_processes 1; pid $dir/nginx.pid; error_log $dir/error.log;
events { worker_connections 1024; }
http {
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  log_format plain '\$request_method \$request_uri \$status \$request_length';
  client_max_body_size 16m;
  server {
    listen 127.0.0.1:$NGINX_PORT; listen [::1]:$NGINX_PORT;
    access_log $dir/access.log plain;
    location / { return 200 "hello \$request_uri\n"; }
    location /echo { client_body_buffer_size 16m; proxy_pass http://127.0.0.1:$NGINX_PORT/sink; }
    location /sink { return 204; }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" || return 1
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/ready" && break; sleep 0.05; done
  : > "$dir/access.log"
  nginx -c "$dir/nginx.conf" -p "$dir" -s reopen 2>/dev/null
  sleep 0.1
}
stop_nginx() { [ -f "$1/nginx.pid" ] && kill "$(cat "$1/nginx.pid")" 2>/dev/null; true; }
