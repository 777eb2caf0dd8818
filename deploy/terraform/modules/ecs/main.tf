# Every Zelly process as an ECS Fargate service, all from one image (the Dockerfile; its command names
# the process, deploy/entrypoint.sh), the same topology as deploy/compose.yaml:
#   NLB (TCP 80/443) -> storefront task: Caddy (on-demand TLS, certificates on EFS) + edge
#                    -> origin service (Service Connect names origin:8000 and origin-internal:8001)
#   origin-jobs, one task: the origin's periodic jobs (the origin service runs --no-jobs);
#   a worker service per queue, one scheduler per scheduled queue, the store-events consumer;
#   migrate is a task definition the deploy runs once before it updates the services.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.40" }
  }
}

data "aws_region" "current" {}

locals {
  worker_queues    = ["shopify_webhook", "shopify_settings_push", "shopify_settings_fetch", "shopify_catalog_sync", "email_outbox", "checkout_sweeps"]
  scheduled_queues = ["shopify_catalog_sync", "email_outbox", "checkout_sweeps"]

  # The origin runs as two services from one task definition, as compose's origin-a and origin-b and
  # zelly stack's origin a and b do: `origin` serves the traffic with --no-jobs, scaled by desired_counts;
  # `origin-jobs`, always one task, runs the periodic jobs (domain checks), which two tasks would run twice.
  # origin-jobs serves no traffic: a Service Connect discovery name belongs to one service.
  origins = {
    origin      = { command = ["origin", "--no-jobs"] }
    origin-jobs = { command = ["origin"] }
  }

  # Background processes: one service each. Their only listener is the internal one (/livez, /metrics,
  # ZELLY_WORKER_INTERNAL_BIND), numbered as zelly stack, compose and the systemd examples number theirs.
  internal_ports = {
    worker-shopify-webhook         = 8030
    worker-shopify-catalog-sync    = 8031
    worker-shopify-settings-push   = 8032
    worker-shopify-settings-fetch  = 8033
    worker-email-outbox            = 8034
    worker-checkout-sweeps         = 8035
    scheduler-shopify-catalog-sync = 8036
    scheduler-email-outbox         = 8037
    scheduler-checkout-sweeps      = 8038
    consumer                       = 8039
  }
  background = merge(
    { for queue in local.worker_queues : "worker-${replace(queue, "_", "-")}" => { command = ["worker", queue], count = lookup(var.desired_counts, "worker-${replace(queue, "_", "-")}", 1) } },
    # Exactly one scheduler of each kind: two would send every periodic task twice.
    { for queue in local.scheduled_queues : "scheduler-${replace(queue, "_", "-")}" => { command = ["scheduler", queue], count = 1 } },
    { consumer = { command = ["consumer"], count = lookup(var.desired_counts, "consumer", 1) } },
  )
  # Their liveness, as compose's x-internal-livez: /livez asks no store, so a Redis or MySQL outage
  # does not get every worker replaced (/readyz there says whether the stores answer).
  internal_livez = {
    command     = ["CMD", "python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['ZELLY_WORKER_INTERNAL_BIND'].rsplit(':', 1)[1] + '/livez', timeout=3)"]
    interval    = 10
    timeout     = 5
    retries     = 3
    startPeriod = 20
  }

  environment = [for name, value in merge(var.environment, {
    ZELLY_DATA_DIR        = "/var/lib/zelly"
    ZELLY_TRUSTED_PROXIES = var.vpc_cidr_block
  }) : { name = name, value = value }]
  secrets = [for name, arn in var.secret_arns : { name = name, valueFrom = arn }]

  log_configuration = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = aws_cloudwatch_log_group.this.name
      awslogs-region        = data.aws_region.current.name
      awslogs-stream-prefix = "zelly"
    }
  }
  # The root filesystem is read-only; the data directory and /tmp are per-task scratch space.
  scratch_mounts = [
    { sourceVolume = "scratch", containerPath = "/var/lib/zelly", readOnly = false },
    { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
  ]
  certificate_mount = { sourceVolume = "certificates", containerPath = "/var/lib/zelly/caddy", readOnly = false }

  container = {
    image                  = var.image
    essential              = true
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    privileged             = false
    environment            = local.environment
    secrets                = local.secrets
    logConfiguration       = local.log_configuration
    mountPoints            = local.scratch_mounts
    stopTimeout            = 30
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/zelly/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
  configuration {
    execute_command_configuration {
      kms_key_id = var.kms_key_arn
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this.name
      }
    }
  }
}

resource "aws_service_discovery_http_namespace" "this" {
  name = var.name
}

# -- security groups

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Zelly tasks: each other's listeners; out to the stores, HTTPS and SMTP"
  vpc_id      = var.vpc_id
  ingress {
    description = "Origin, internal, edge and edge internal listeners from other Zelly tasks"
    from_port   = 8000
    to_port     = 8003
    protocol    = "tcp"
    self        = true
  }
  egress {
    description = "The stores and each other inside the VPC"
    from_port   = 0
    to_port     = 65535
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }
  egress {
    description = "Shopify, Stripe, Cloudflare, ACME, AWS APIs"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "SMTP submission to the mail relay"
    from_port   = 587
    to_port     = 587
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    description = "DNS lookups of custom domains (ZELLY_DNS_RESOLVERS)"
    from_port   = 53
    to_port     = 53
    protocol    = "udp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "storefront" {
  name        = "${var.name}-storefront"
  description = "Caddy behind the NLB: shoppers' HTTP and HTTPS (client addresses are preserved)"
  vpc_id      = var.vpc_id
  ingress {
    description = "HTTPS from shoppers"
    from_port   = 8443
    to_port     = 8443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    description = "HTTP from shoppers (redirects and ACME HTTP-01)"
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "efs" {
  name        = "${var.name}-efs"
  description = "NFS from the storefront and origin tasks"
  vpc_id      = var.vpc_id
  ingress {
    description     = "NFS"
    from_port       = 2049
    to_port         = 2049
    protocol        = "tcp"
    security_groups = [aws_security_group.tasks.id]
  }
}

# -- IAM: the execution role pulls the image and reads the secrets; the task role is the processes' own

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(var.secret_arns)
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "read_secrets" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.read_secrets.json
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.certificates.arn]
  }
}

resource "aws_iam_role_policy" "task" {
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# -- Caddy's certificate storage, shared by every storefront task (and the origins, which delete a
# removed domain's files: origin/domains/actions.py)

resource "aws_efs_file_system" "certificates" {
  encrypted  = true
  kms_key_id = var.kms_key_arn
  tags       = { Name = "${var.name}-certificates" }
}

resource "aws_efs_backup_policy" "certificates" {
  file_system_id = aws_efs_file_system.certificates.id
  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "certificates" {
  count           = length(var.private_subnet_ids)
  file_system_id  = aws_efs_file_system.certificates.id
  subnet_id       = var.private_subnet_ids[count.index]
  security_groups = [aws_security_group.efs.id]
}

resource "aws_efs_access_point" "certificates" {
  file_system_id = aws_efs_file_system.certificates.id
  posix_user {
    uid = 10001
    gid = 10001
  }
  root_directory {
    path = "/caddy"
    creation_info {
      owner_uid   = 10001
      owner_gid   = 10001
      permissions = "0700"
    }
  }
}

# -- the NLB: TCP straight to Caddy, which terminates TLS (on-demand certificates per store domain)

resource "aws_lb" "this" {
  # checkov:skip=CKV2_AWS_20:a network load balancer (TCP); Caddy answers HTTP with a 308 to HTTPS (Caddyfile, http:// site)
  # checkov:skip=CKV_AWS_91:an NLB writes access logs for TLS listeners only; these are TCP (Caddy terminates TLS and logs requests)
  name                             = var.name
  load_balancer_type               = "network"
  subnets                          = var.public_subnet_ids
  enable_deletion_protection       = true
  enable_cross_zone_load_balancing = true
}

resource "aws_lb_target_group" "storefront" {
  for_each    = { http = 8080, https = 8443 }
  name        = "${var.name}-${each.key}"
  port        = each.value
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  # Caddy finishes its connections before the task stops.
  deregistration_delay = 30
  health_check {
    protocol = "TCP"
    port     = "traffic-port"
  }
}

resource "aws_lb_listener" "storefront" {
  # checkov:skip=CKV_AWS_2:TCP passthrough: TLS is Caddy's (on-demand certificates), the NLB cannot hold them
  # checkov:skip=CKV_AWS_103:TCP passthrough, as above
  for_each          = { http = 80, https = 443 }
  load_balancer_arn = aws_lb.this.arn
  port              = each.value
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.storefront[each.key].arn
  }
}

# -- task definitions

resource "aws_ecs_task_definition" "origin" {
  for_each                 = local.origins
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024
  memory                   = 2048
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  volume {
    name = "scratch"
  }
  volume {
    name = "tmp"
  }
  volume {
    name = "certificates"
    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.certificates.id
      transit_encryption = "ENABLED"
      authorization_config {
        access_point_id = aws_efs_access_point.certificates.id
        iam             = "ENABLED"
      }
    }
  }
  container_definitions = jsonencode([merge(local.container, {
    name    = "origin"
    command = each.value.command
    environment = concat(local.environment, [
      { name = "ZELLY_ORIGIN_BIND", value = "0.0.0.0:8000" },
      { name = "ZELLY_INTERNAL_BIND", value = "0.0.0.0:8001" },
    ])
    portMappings = [
      { name = "origin", containerPort = 8000, protocol = "tcp", appProtocol = "http" },
      { name = "origin-internal", containerPort = 8001, protocol = "tcp", appProtocol = "http" },
    ]
    mountPoints = concat(local.scratch_mounts, [local.certificate_mount])
    # Liveness (the public /healthz asks no store): the internal :8001/healthz answers 503 while any
    # store is down, and ECS would replace every origin during a ClickHouse outage.
    healthCheck = {
      command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
      interval    = 10
      timeout     = 5
      retries     = 3
      startPeriod = 20
    }
  })])
}

resource "aws_ecs_task_definition" "storefront" {
  family                   = "${var.name}-storefront"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024
  memory                   = 2048
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  volume {
    name = "scratch"
  }
  volume {
    name = "tmp"
  }
  volume {
    name = "certificates"
    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.certificates.id
      transit_encryption = "ENABLED"
      authorization_config {
        access_point_id = aws_efs_access_point.certificates.id
        iam             = "ENABLED"
      }
    }
  }
  container_definitions = jsonencode([
    merge(local.container, {
      name    = "edge"
      command = ["edge"]
      environment = concat(local.environment, [
        { name = "ZELLY_EDGE_BIND", value = "127.0.0.1:8002" },
        { name = "ZELLY_EDGE_INTERNAL_BIND", value = "0.0.0.0:8003" },
        { name = "ZELLY_EDGE_UPSTREAM", value = "http://origin:8000" },
      ])
      healthCheck = {
        command     = ["CMD", "python", "-c", "import os, urllib.request as r; r.urlopen(r.Request('http://127.0.0.1:8003/internal/edge/stats', headers={'Authorization': 'Bearer ' + os.environ['ZELLY_INTERNAL_TOKEN']}), timeout=3)"]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 10
      }
    }),
    # The sidecar: Caddy in the same task reaches the edge on loopback.
    merge(local.container, {
      name    = "caddy"
      command = ["caddy"]
      secrets = []
      environment = [
        { name = "ZELLY_PLATFORM_DOMAIN", value = var.environment["ZELLY_PLATFORM_DOMAIN"] },
        { name = "ZELLY_ACME_EMAIL", value = var.acme_email },
        { name = "ZELLY_HTTP_PORT", value = "8080" },
        { name = "ZELLY_HTTPS_PORT", value = "8443" },
        { name = "CADDY_BIND", value = "0.0.0.0" },
        { name = "CADDY_ISSUER", value = "acme" },
        { name = "CADDY_STORAGE", value = "/var/lib/zelly/caddy" },
        { name = "CADDY_REDIRECT_PORT", value = "" },
        { name = "CADDY_UPSTREAM", value = "http://127.0.0.1:8002" },
        { name = "CADDY_ASK_URL", value = "http://origin-internal:8001/tls/ask" },
      ]
      portMappings = [
        { name = "http", containerPort = 8080, protocol = "tcp" },
        { name = "https", containerPort = 8443, protocol = "tcp" },
      ]
      mountPoints = concat(local.scratch_mounts, [local.certificate_mount])
      dependsOn   = [{ containerName = "edge", condition = "HEALTHY" }]
      healthCheck = {
        command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:2019/config/', timeout=3)"]
        interval    = 10
        timeout     = 5
        retries     = 3
        startPeriod = 10
      }
    }),
  ])
}

resource "aws_ecs_task_definition" "background" {
  for_each                 = local.background
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  volume {
    name = "scratch"
  }
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([merge(local.container, {
    name    = each.key
    command = each.value.command
    # In its own network namespace (awsvpc), so 0.0.0.0; the check dials it on loopback.
    environment = concat(local.environment, [
      { name = "ZELLY_WORKER_INTERNAL_BIND", value = "0.0.0.0:${local.internal_ports[each.key]}" },
    ])
    healthCheck = local.internal_livez
  })])
}

# Run once by the deploy before it updates the services; it exits, so it has no listener and no health check.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  volume {
    name = "scratch"
  }
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([merge(local.container, { name = "migrate", command = ["migrate"] })])
}

# The same resources under their new addresses: no replacement when an existing stack applies this.
moved {
  from = aws_ecs_task_definition.origin
  to   = aws_ecs_task_definition.origin["origin"]
}

moved {
  from = aws_ecs_task_definition.background["migrate"]
  to   = aws_ecs_task_definition.migrate
}

# -- services

resource "aws_ecs_service" "origin" {
  name             = "origin"
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.origin["origin"].arn
  desired_count    = lookup(var.desired_counts, "origin", 2)
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  service_connect_configuration {
    enabled   = true
    namespace = aws_service_discovery_http_namespace.this.arn
    service {
      port_name = "origin"
      client_alias {
        port = 8000
      }
    }
    service {
      port_name = "origin-internal"
      client_alias {
        port = 8001
      }
    }
  }
}

# The one origin that runs the periodic jobs; like a scheduler it is replaced stop-first, so two never run at once.
resource "aws_ecs_service" "origin_jobs" {
  name                               = "origin-jobs"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.origin["origin-jobs"].arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

resource "aws_ecs_service" "storefront" {
  name             = "storefront"
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.storefront.arn
  desired_count    = lookup(var.desired_counts, "storefront", 2)
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id, aws_security_group.storefront.id]
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  service_connect_configuration {
    enabled   = true
    namespace = aws_service_discovery_http_namespace.this.arn
  }
  dynamic "load_balancer" {
    for_each = { http = 8080, https = 8443 }
    content {
      target_group_arn = aws_lb_target_group.storefront[load_balancer.key].arn
      container_name   = "caddy"
      container_port   = load_balancer.value
    }
  }
  depends_on = [aws_lb_listener.storefront]
}

resource "aws_ecs_service" "background" {
  for_each         = local.background
  name             = each.key
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.background[each.key].arn
  desired_count    = each.value.count
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  # A scheduler is replaced stop-first, so two never run at once.
  deployment_minimum_healthy_percent = startswith(each.key, "scheduler-") ? 0 : 100
  deployment_maximum_percent         = startswith(each.key, "scheduler-") ? 100 : 200
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}
