# One Zelly environment: the modules wired together. environments/staging and environments/production
# call it with their region, sizes and names; nothing else differs between them.
terraform {
  required_providers {
    aws    = { source = "hashicorp/aws", version = ">= 5.40" }
    random = { source = "hashicorp/random", version = ">= 3.6" }
  }
}

module "vpc" {
  source             = "../vpc"
  name               = var.name
  cidr_block         = var.cidr_block
  availability_zones = var.availability_zones
  kms_key_arn        = module.secrets.kms_key_arn
}

module "secrets" {
  source              = "../secrets"
  name                = var.name
  database_endpoint   = module.aurora.endpoint
  redis_endpoint      = module.redis.primary_endpoint
  clickhouse_endpoint = module.clickhouse.private_dns
}

locals {
  # Who may reach the stores: the Zelly tasks and the operators' tunnel.
  store_clients = [module.ecs.task_security_group_id, module.bastion.security_group_id]
}

module "aurora" {
  source                    = "../aurora"
  name                      = var.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.private_subnet_ids
  client_security_group_ids = local.store_clients
  kms_key_arn               = module.secrets.kms_key_arn
  master_password           = module.secrets.database_password
  max_capacity              = var.aurora_max_capacity
}

module "redis" {
  source                    = "../redis"
  name                      = var.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.private_subnet_ids
  client_security_group_ids = local.store_clients
  kms_key_arn               = module.secrets.kms_key_arn
  auth_token                = module.secrets.redis_auth_token
  node_type                 = var.redis_node_type
}

module "clickhouse" {
  source                    = "../clickhouse"
  name                      = var.name
  vpc_id                    = module.vpc.vpc_id
  subnet_id                 = module.vpc.private_subnet_ids[0]
  client_security_group_ids = local.store_clients
  kms_key_arn               = module.secrets.kms_key_arn
  password_secret_arn       = module.secrets.clickhouse_password_secret_arn
  instance_type             = var.clickhouse_instance_type
}

module "bastion" {
  source               = "../bastion"
  name                 = var.name
  vpc_id               = module.vpc.vpc_id
  vpc_cidr_block       = module.vpc.cidr_block
  public_subnet_id     = module.vpc.public_subnet_ids[0]
  kms_key_arn          = module.secrets.kms_key_arn
  operator_cidr_blocks = var.operator_cidr_blocks
  wireguard_peers      = var.wireguard_peers
}

module "ecs" {
  source             = "../ecs"
  name               = var.name
  vpc_id             = module.vpc.vpc_id
  vpc_cidr_block     = module.vpc.cidr_block
  private_subnet_ids = module.vpc.private_subnet_ids
  public_subnet_ids  = module.vpc.public_subnet_ids
  image              = "${module.ci.repository_url}:${var.image_tag}"
  kms_key_arn        = module.secrets.kms_key_arn
  secret_arns        = module.secrets.secret_arns
  acme_email         = var.acme_email
  desired_counts     = var.desired_counts
  environment = merge({
    ZELLY_PLATFORM_DOMAIN               = var.platform_domain
    ZELLY_PLATFORM_DOMAIN_PUBLIC_SUFFIX = "true"
    ZELLY_PLATFORM_IPS                  = join(",", var.platform_ips)
    ZELLY_ACME_EMAIL                    = var.acme_email
    ZELLY_SMTP_HOST                     = var.smtp_host
    ZELLY_SMTP_PORT                     = "587"
    ZELLY_SMTP_USERNAME                 = var.smtp_username
    ZELLY_SMTP_STARTTLS                 = "always"
    ZELLY_MAIL_FROM                     = var.mail_from
  }, var.extra_environment)
}

module "ci" {
  source             = "../ci"
  name               = var.name
  kms_key_arn        = module.secrets.kms_key_arn
  github_repository  = var.github_repository
  github_environment = var.github_environment
  cluster_name       = var.name
  task_role_arns     = module.ecs.role_arns
}
