# The production environment, in ap-south-1. State in S3 (bucket and lock table given at init:
#   terraform init -backend-config=bucket=<state bucket> -backend-config=dynamodb_table=<lock table>).
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws    = { source = "hashicorp/aws", version = ">= 5.40" }
    random = { source = "hashicorp/random", version = ">= 3.6" }
  }
  backend "s3" {
    key     = "zelly/production.tfstate"
    region  = "ap-south-1"
    encrypt = true
  }
}

provider "aws" {
  region = "ap-south-1"
  default_tags {
    tags = { Project = "zelly", Environment = "production" }
  }
}

module "platform" {
  source                   = "../../modules/platform"
  name                     = "zelly-production"
  cidr_block               = "10.10.0.0/16"
  availability_zones       = ["ap-south-1a", "ap-south-1b", "ap-south-1c"]
  platform_domain          = "shops.example.com"
  platform_ips             = var.platform_ips
  acme_email               = var.acme_email
  smtp_host                = var.smtp_host
  smtp_username            = var.smtp_username
  mail_from                = "orders@shops.example.com"
  image_tag                = var.image_tag
  desired_counts           = { origin = 4, storefront = 3, worker-shopify-webhook = 3, worker-shopify-catalog-sync = 2, consumer = 2 }
  aurora_max_capacity      = 32
  redis_node_type          = "cache.r7g.large"
  clickhouse_instance_type = "r7g.xlarge"
  operator_cidr_blocks     = var.operator_cidr_blocks
  wireguard_peers          = var.wireguard_peers
  github_repository        = var.github_repository
  github_environment       = "production"
}
