# ElastiCache Redis 7: Zelly's cache, pub/sub (purges), task streams and rate limits. TLS and an AUTH
# token (ZELLY_REDIS_URL is rediss://), a replica in another zone that is promoted on a failure.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.40" }
  }
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
}

resource "aws_security_group" "this" {
  name        = "${var.name}-redis"
  description = "Redis from the Zelly tasks and the bastion only"
  vpc_id      = var.vpc_id
  ingress {
    description     = "Redis (TLS) from the Zelly tasks and the bastion"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

# Task streams must not be evicted (accepted work would vanish): noeviction, and the edge's page tier
# goes to its own Redis (ZELLY_EDGE_REDIS_URL) when it needs allkeys-lru.
resource "aws_elasticache_parameter_group" "this" {
  name   = var.name
  family = "redis7"
  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = var.name
  description                = "${var.name}: cache, pub/sub, task streams"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.node_type
  num_cache_clusters         = var.replica_count + 1
  automatic_failover_enabled = true
  multi_az_enabled           = true
  parameter_group_name       = aws_elasticache_parameter_group.this.name
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.this.id]
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = var.auth_token
  kms_key_id                 = var.kms_key_arn
  snapshot_retention_limit   = 7
  auto_minor_version_upgrade = true
}
