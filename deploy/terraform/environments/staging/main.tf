# The staging environment, in ap-southeast-1. State in S3 (bucket and lock table given at init:
#   terraform init -backend-config=bucket=<state bucket> -backend-config=dynamodb_table=<lock table>).
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws    = { source = "hashicorp/aws", version = ">= 5.40" }
    random = { source = "hashicorp/random", version = ">= 3.6" }
  }
  backend "s3" {
    key     = "zelly/staging.tfstate"
    region  = "ap-southeast-1"
    encrypt = true
  }
}

provider "aws" {
  region = "ap-southeast-1"
  default_tags {
    tags = { Project = "zelly", Environment = "staging" }
  }
}

module "platform" {
  source                   = "../../modules/platform"
  name                     = "zelly-staging"
  cidr_block               = "10.20.0.0/16"
  availability_zones       = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
  platform_domain          = "shops-staging.example.com"
  platform_ips             = var.platform_ips
  acme_email               = var.acme_email
  smtp_host                = var.smtp_host
  smtp_username            = var.smtp_username
  mail_from                = "orders@shops-staging.example.com"
  image_tag                = var.image_tag
  desired_counts           = { origin = 2, storefront = 2 }
  aurora_max_capacity      = 4
  redis_node_type          = "cache.t4g.medium"
  clickhouse_instance_type = "r7g.medium"
  operator_cidr_blocks     = var.operator_cidr_blocks
  wireguard_peers          = var.wireguard_peers
  github_repository        = var.github_repository
  github_environment       = "staging"
}
