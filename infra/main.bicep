// Dynamics Marketing Sync: one environment (resource-group scope).
//
// Plain resources only (no registry modules) so the template needs no network to build,
// and tests/infra/test_bicep.py can parse it offline with pycep.
//
// Identity-only wiring: the Function App's system-assigned identity reaches Storage,
// Service Bus and Key Vault through RBAC; Storage and Service Bus have key auth disabled.
//
// Deploy:
//   az deployment group create -g <rg> --template-file infra/main.bicep \
//     --parameters @infra/main.parameters.example.json
// The deploying principal needs Contributor plus a role that may write role assignments
// (Owner, User Access Administrator or Role Based Access Control Administrator) on the group.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@description('Short lowercase alphanumeric name (3-11 chars) that all resource names derive from.')
@minLength(3)
@maxLength(11)
param baseName string

@description('Azure region for every resource. Flex Consumption is only offered in some regions.')
param location string = resourceGroup().location

@description('Tags applied to every resource.')
param tags object = {
  application: 'dynamics-marketing-sync'
}

// Names default to baseName plus a resource-group hash: globally unique names
// (storage, vault, namespace, app host name) stay stable across redeployments.
@description('Storage account name (3-24 lowercase letters and digits).')
@maxLength(24)
param storageAccountName string = take(toLower('st${baseName}${uniqueString(resourceGroup().id)}'), 24)

@description('Service Bus namespace name (6-50 chars).')
param serviceBusNamespaceName string = 'sb-${baseName}-${uniqueString(resourceGroup().id)}'

@description('Key Vault name (3-24 chars).')
@maxLength(24)
param keyVaultName string = take('kv${baseName}${uniqueString(resourceGroup().id)}', 24)

@description('Log Analytics workspace name.')
param logAnalyticsName string = 'log-${baseName}'

@description('Application Insights component name.')
param appInsightsName string = 'appi-${baseName}'

@description('Flex Consumption plan name.')
param planName string = 'plan-${baseName}'

// Kept short: the Functions host id is derived from the first 32 characters of the name,
// and apps sharing a storage account must not collide there.
@description('Function App name (also its default host name).')
@maxLength(32)
param functionAppName string = 'func-${baseName}-${take(uniqueString(resourceGroup().id), 8)}'

@description('Dataverse environment URL, e.g. https://contoso.crm4.dynamics.com')
param dataverseUrl string

@description('Entra tenant of the Dataverse app registration (defaults to this subscription\'s tenant).')
param dataverseTenantId string = subscription().tenantId

@description('Client (application) id of the Dataverse app registration.')
param dataverseClientId string

// Optional: when empty the secret is not touched, so a redeploy never overwrites a value an
// operator set (or rotated) with `az keyvault secret set --name dataverse-client-secret`.
@description('Dataverse client secret to store in Key Vault; leave empty to manage it out of band.')
@secure()
param dataverseClientSecret string = ''

// Concurrency budget. Dataverse allows 52 concurrent requests per user across the whole app,
// and every instance signs in as the same application user. The most requests in flight are
//   maximumInstanceCount x serviceBusMaxConcurrentCalls x dataverseMaxConcurrency
//     = 6 x 2 x 4 = 48 <= 52
// with one Python worker process per instance (FUNCTIONS_WORKER_PROCESS_COUNT's default of 1,
// which this app leaves alone). The Dataverse cap is per process and shared by its calls, so
// the real bound is lower still; counting the calls keeps the budget safe should clients ever
// be made per run. Raise one factor only by lowering another; a request that meets 429 anyway
// waits its Retry-After.
// tests/infra/test_concurrency_budget.py checks the product of the defaults.

@description('Upper bound on Flex Consumption instances; a factor of the Dataverse concurrency budget (see above).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 6

@description('Service Bus messages one instance handles at once (host.json maxConcurrentCalls); a factor of the Dataverse concurrency budget.')
@minValue(1)
@maxValue(16)
param serviceBusMaxConcurrentCalls int = 2

@description('Dataverse requests in flight per worker process (DATAVERSE_MAX_CONCURRENCY); a factor of the Dataverse concurrency budget.')
@minValue(1)
@maxValue(52)
param dataverseMaxConcurrency int = 4

@description('Origins that may show the operator console in a frame besides the console itself (CONSOLE_FRAME_ANCESTORS): https origins separated by spaces; empty for none.')
param consoleFrameAncestors string = 'https://*.dynamics.com'

@description('Memory per Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Zone redundancy on Flex Consumption keeps at least two always-ready instances per function
// group, billed while idle. A zone outage here delays queued runs (Service Bus keeps them and
// runs resume from their checkpoints), it loses nothing, so it is opt-in.
@description('Spread instances across availability zones (billed as always-ready instances; needs a region with zones).')
param zoneRedundant bool = false

@description('Storage redundancy. Geo-redundant by default: the tables hold the accounts, schedules, sync state and audit.')
@allowed([
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
  'Standard_ZRS'
  'Standard_LRS'
])
param storageSku string = 'Standard_GRS'

// Network. Storage and Key Vault take no traffic from the internet by default; the app reaches
// them from its VNet. Service Bus Standard has no private endpoints (Premium does): it stays a
// public endpoint that takes Entra tokens only (disableLocalAuth).
// One choice decides both ways in, so no combination locks the app out:
//   Disabled: no public endpoint; the app reaches Storage and Key Vault through private
//             endpoints (with private DNS zones) in its VNet.
//   Enabled:  the public endpoints' firewalls deny by default and admit the app subnet (service
//             endpoints) and allowedIpRanges.
@description('Public endpoints of Storage and Key Vault: Disabled (private endpoints only) or Enabled (firewall: the app subnet and allowedIpRanges).')
@allowed([
  'Disabled'
  'Enabled'
])
param publicNetworkAccess string = 'Disabled'

@description('Public IPv4 ranges (CIDR) the firewalls of Storage and Key Vault admit when publicNetworkAccess is Enabled, e.g. operators using Storage Explorer or az keyvault secret set.')
param allowedIpRanges array = []

@description('Address space of the app VNet.')
param vnetAddressPrefix string = '10.60.0.0/16'

@description('Subnet of the Function App (delegated to Microsoft.App/environments, as Flex Consumption requires).')
param appSubnetPrefix string = '10.60.0.0/24'

@description('Subnet of the private endpoints (PrivateEndpoint mode).')
param privateEndpointSubnetPrefix string = '10.60.1.0/24'

// The shared key Dataverse sends with each webhook post. Set only when it is created, repaired
// or rotated: the deploy workflow (.ci/webhook_key.py) passes one when the vault's secret is
// missing or does not match the function key `dynamics-webhook`, or when a run asks to rotate
// it, and then gives the function key the same value. Empty (every other deploy): the vault's
// value stays.
@description('Webhook key to store in Key Vault (create or rotate); leave empty to keep the vault\'s value.')
@secure()
param dynamicsWebhookKey string = ''

// A short hash of the key, not the key: kept as the secret's tag `keyCheck`, which (unlike the
// value) the deploy job can read through Azure Resource Manager, to tell whether the secret
// still holds the function key's value.
@description('Key check of dynamicsWebhookKey (.ci/webhook_key.py computes it); read only when dynamicsWebhookKey is set.')
param dynamicsWebhookKeyCheck string = ''

@description('When the webhook key should be rotated (ISO 8601), recorded on its Key Vault secret; read only when dynamicsWebhookKey is set.')
param dynamicsWebhookKeyExpiresOn string = dateTimeAdd(utcNow(), 'P365D')

@description('When the Dataverse client secret expires (its end date in Entra, ISO 8601). Key Vault records it so the portal and SecretNearExpiry events warn before the app starts failing to sign in.')
param dataverseClientSecretExpiresOn string = dateTimeAdd(utcNow(), 'P180D')

// The deploy workflow's provisioning identity (its `provision` job: `dataverse provision` and
// `webhooks register`). Its Azure roles are assigned below; its Dataverse role (System
// Customizer, as an application user) is Dataverse data that no Azure template can assign, so
// that one stays a step of the README.
@description('Object id of the provisioning identity\'s service principal (az ad sp show --id <its client id> --query id); empty: no roles for it.')
param provisionerObjectId string = ''

// Alerts go to this action group. Empty: the template creates one that mails alertEmails.
@description('Resource id of an existing action group for the alerts; empty to create one that mails alertEmails.')
param actionGroupId string = ''

@description('Who the created action group mails (used when actionGroupId is empty).')
param alertEmails array = []

// ---------------------------------------------------------------------------------------------
// Variables
// ---------------------------------------------------------------------------------------------

// The product's tables (shared/storage/tables.py TABLES). The app also creates them on first
// use; declaring them here makes the environment complete before the first run.
var tableNames = [
  'EmailAccounts'
  'SyncSchedules'
  'SyncDue'
  'SyncState'
  'SyncAudit'
  'SyncAuditDetails'
  'CrmFields'
  'EmailDataLabels'
  'EmailDataMappings'
  'MarketingListLinks'
  'ListSnapshots'
  'MarketingListHistory'
  'WebhookRegistrations'
  'WebhookEvents'
  'WebhookTargets'
  'ProgramAccess'
  'UserMappings'
  'AdobeCampaignConfig'
  'AdobeFileDrop'
]

var syncQueueName = 'sync-requests'
var deploymentContainerName = 'app-package'
var dataverseSecretName = 'dataverse-client-secret'
var webhookKeySecretName = 'dynamics-webhook-key'

var usePrivateEndpoints = publicNetworkAccess == 'Disabled'
var storageIpRules = [for range in allowedIpRanges: {
  value: range
  action: 'Allow'
}]
var vaultIpRules = [for range in allowedIpRanges: {
  value: range
}]
// The storage services the app uses: blob (host, deployment package), queue (host), table.
var storageServices = [
  'blob'
  'queue'
  'table'
]
var vnetName = 'vnet-${baseName}'
var appSubnetName = 'snet-app'
// The worker's log lines for a run that ended Failed (shared/pipeline/worker.py), as
// Application Insights stores them in its traces table.
var failedRunsQuery = 'traces | where message matches regex @"^Run \\S+ (failed: |crashed)"'
var privateEndpointSubnetName = 'snet-private-endpoints'
// publicNetworkAccess Enabled: the app subnet reaches Storage and Key Vault through service endpoints, and
// their firewalls admit that subnet.
var appServiceEndpoints = [
  {
    service: 'Microsoft.Storage'
  }
  {
    service: 'Microsoft.KeyVault'
  }
]
var storageVnetRules = [
  {
    id: appSubnet.id
    action: 'Allow'
  }
]
var vaultVnetRules = [
  {
    id: appSubnet.id
  }
]

// Built-in role definition ids (Learn: Azure built-in roles).
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  websiteContributor: 'de139f84-1756-47ae-9be6-808fbbe84772'
}

// ---------------------------------------------------------------------------------------------
// Network: the app's VNet, its outbound address, private endpoints of Storage and Key Vault
// ---------------------------------------------------------------------------------------------

// New subnets have no default outbound internet access: the NAT gateway gives the app its way
// out (Dataverse, Dotdigital, Service Bus) and one static address that an API user's IP
// allowlist can name.
resource outboundIp 'Microsoft.Network/publicIPAddresses@2023-11-01' = {
  name: 'pip-${baseName}-outbound'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIPAllocationMethod: 'Static'
  }
}

resource natGateway 'Microsoft.Network/natGateways@2023-11-01' = {
  name: 'ng-${baseName}'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
  }
  properties: {
    publicIpAddresses: [
      {
        id: outboundIp.id
      }
    ]
  }
}

// Subnets are declared inside the VNet: as separate child resources a redeployment of the
// VNet would try to remove them.
resource vnet 'Microsoft.Network/virtualNetworks@2023-11-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        vnetAddressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          natGateway: {
            id: natGateway.id
          }
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          // With public access the firewalls admit this subnet by service endpoint; private
          // endpoints need none.
          serviceEndpoints: usePrivateEndpoints ? [] : appServiceEndpoints
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource appSubnet 'Microsoft.Network/virtualNetworks/subnets@2023-11-01' existing = {
  parent: vnet
  name: appSubnetName
}

resource privateEndpointSubnet 'Microsoft.Network/virtualNetworks/subnets@2023-11-01' existing = {
  parent: vnet
  name: privateEndpointSubnetName
}

// One private DNS zone per service, linked to the VNet, so the app resolves the usual host
// names (<account>.blob.core.windows.net, <vault>.vault.azure.net) to the private endpoints.
// (`if(` without a space inside a loop: the only form pycep, which tests/infra use, parses.)
resource storageDnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [
  for service in storageServices: if(usePrivateEndpoints) {
    name: 'privatelink.${service}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource storageDnsLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [
  for (service, i) in storageServices: if(usePrivateEndpoints) {
    parent: storageDnsZones[i]
    name: 'link-${vnet.name}'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

resource storagePrivateEndpoints 'Microsoft.Network/privateEndpoints@2023-11-01' = [
  for service in storageServices: if(usePrivateEndpoints) {
    name: 'pe-${storage.name}-${service}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: privateEndpointSubnet.id
      }
      privateLinkServiceConnections: [
        {
          name: service
          properties: {
            privateLinkServiceId: storage.id
            groupIds: [
              service
            ]
          }
        }
      ]
    }
  }
]

resource storageDnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = [
  for (service, i) in storageServices: if(usePrivateEndpoints) {
    parent: storagePrivateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: service
          properties: {
            privateDnsZoneId: storageDnsZones[i].id
          }
        }
      ]
    }
  }
]

resource vaultDnsZone 'Microsoft.Network/privateDnsZones@2020-06-01' = if (usePrivateEndpoints) {
  name: 'privatelink.vaultcore.azure.net'
  location: 'global'
  tags: tags
}

resource vaultDnsLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = if (usePrivateEndpoints) {
  parent: vaultDnsZone
  name: 'link-${vnet.name}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}

resource vaultPrivateEndpoint 'Microsoft.Network/privateEndpoints@2023-11-01' = if (usePrivateEndpoints) {
  name: 'pe-${keyVault.name}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: privateEndpointSubnet.id
    }
    privateLinkServiceConnections: [
      {
        name: 'vault'
        properties: {
          privateLinkServiceId: keyVault.id
          groupIds: [
            'vault'
          ]
        }
      }
    ]
  }
}

resource vaultDnsGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = if (usePrivateEndpoints) {
  parent: vaultPrivateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'vault'
        properties: {
          privateDnsZoneId: vaultDnsZone.id
        }
      }
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// Storage: host storage (AzureWebJobsStorage), Flex deployment packages, product tables
// ---------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  // checkov:skip=CKV_AZURE_43:the name is computed (take/toLower/uniqueString) and checkov cannot evaluate it; @maxLength(24) and the lowercase prefix keep it valid
  properties: {
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: 'Deny'
      // Azure Monitor and the platform's trusted services (e.g. Flex deployment) still reach it.
      bypass: 'AzureServices'
      ipRules: storageIpRules
      virtualNetworkRules: usePrivateEndpoints ? [] : storageVnetRules
    }
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Identity only: the app uses AzureWebJobsStorage__accountName and RBAC, never keys.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Flex Consumption pulls the app package from this container with the app's identity.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Declared for its diagnostic setting (the host keeps its internal queues here).
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// ---------------------------------------------------------------------------------------------
// Service Bus: the sync-requests work queue
// ---------------------------------------------------------------------------------------------

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: serviceBusNamespaceName
  location: location
  tags: tags
  // Standard, not Basic: Basic has no duplicate detection, sessions or transactions.
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    minimumTlsVersion: '1.2'
    // Identity only (ServiceBusConnection__fullyQualifiedNamespace): no SAS keys.
    disableLocalAuth: true
  }
}

resource syncQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: serviceBus
  name: syncQueueName
  properties: {
    // The sender sets MessageId, so a request re-sent within 10 minutes is dropped.
    // Duplicate detection can only be switched on when the queue is created.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    // Service Bus maximum; the host renews the lock while a sync run is in progress.
    lockDuration: 'PT5M'
    // A request that fails five times goes to sync-requests/$deadletterqueue for inspection.
    maxDeliveryCount: 5
    // Requests older than a day are stale (the app times queued runs out after an hour);
    // expired ones are dead-lettered rather than silently dropped.
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
  }
}

// ---------------------------------------------------------------------------------------------
// Key Vault: email-platform API passwords and the Dataverse client secret
// ---------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Access through Azure RBAC roles, not vault access policies.
    enableRbacAuthorization: true
    // Deleted secrets are recoverable for 90 days and cannot be purged early.
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: vaultIpRules
      virtualNetworkRules: usePrivateEndpoints ? [] : vaultVnetRules
    }
  }
}

resource dataverseSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(dataverseClientSecret)) {
  parent: keyVault
  name: dataverseSecretName
  // checkov:skip=CKV_AZURE_41:set below (attributes.exp); checkov does not read the body of a conditional resource, tests/infra/test_bicep.py checks it
  // checkov:skip=CKV_AZURE_114:set below (contentType); checkov does not read the body of a conditional resource, tests/infra/test_bicep.py checks it
  properties: {
    value: dataverseClientSecret
    contentType: 'text/plain; Entra client secret of the Dataverse app registration'
    attributes: {
      exp: dateTimeToEpoch(dataverseClientSecretExpiresOn)
    }
  }
}

resource webhookKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(dynamicsWebhookKey)) {
  parent: keyVault
  name: webhookKeySecretName
  tags: union(tags, {
    keyCheck: dynamicsWebhookKeyCheck
  })
  // checkov:skip=CKV_AZURE_41:set below (attributes.exp); checkov does not read the body of a conditional resource, tests/infra/test_bicep.py checks it
  // checkov:skip=CKV_AZURE_114:set below (contentType); checkov does not read the body of a conditional resource, tests/infra/test_bicep.py checks it
  properties: {
    value: dynamicsWebhookKey
    contentType: 'text/plain; shared key Dataverse sends with each webhook post (also the function key dynamics-webhook)'
    attributes: {
      exp: dateTimeToEpoch(dynamicsWebhookKeyExpiresOn)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
  }
}

// Diagnostic settings: every resource's logs and metrics go to the Log Analytics workspace,
// where the App Insights telemetry already is, so one query can join them.
resource storageDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: storage
  properties: {
    workspaceId: logAnalytics.id
    // The account itself has metrics only; its logs are per service, below.
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource serviceBusDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: serviceBus
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

resource keyVaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: keyVault
  properties: {
    workspaceId: logAnalytics.id
    // allLogs includes AuditEvent: who read which secret, and refusals.
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------------

resource alertGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (empty(actionGroupId)) {
  name: 'ag-${baseName}'
  location: 'global'
  tags: tags
  properties: {
    // At most 12 characters; shown in SMS and mail subjects.
    groupShortName: take('dms${baseName}', 12)
    enabled: true
    emailReceivers: [
      for (email, i) in alertEmails: {
        name: 'email-${i}'
        emailAddress: email
        useCommonAlertSchema: true
      }
    ]
  }
}

var alertActions = [
  {
    actionGroupId: empty(actionGroupId) ? alertGroup.id : actionGroupId
  }
]

// A request that failed five times (or expired) waits in sync-requests/$deadletterqueue:
// `python -m shared dead-letters list` shows it, and nothing retries it by itself.
resource deadLetterAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${baseName}-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'Sync requests are in sync-requests/$deadletterqueue: python -m shared dead-letters list shows them.'
    severity: 2
    enabled: true
    scopes: [
      serviceBus.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadLetteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                syncQueueName
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: alertActions
  }
}

// Service Bus refused requests for exceeding the namespace's quota: enqueues from the
// scheduler, webhook and admin API were delayed or failed.
resource throttlingAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${baseName}-service-bus-throttling'
  location: 'global'
  tags: tags
  properties: {
    description: 'Service Bus throttled requests of the connector.'
    severity: 2
    enabled: true
    scopes: [
      serviceBus.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'ThrottledRequests'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'ThrottledRequests'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    actions: alertActions
  }
}

// Function invocations that ended in an exception (the host records each as a failed request).
resource functionErrorsAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${baseName}-function-errors'
  location: 'global'
  tags: tags
  properties: {
    description: 'Function invocations failed (Application Insights failed requests).'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'FailedRequests'
          metricNamespace: 'microsoft.insights/components'
          metricName: 'requests/failed'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Count'
        }
      ]
    }
    actions: alertActions
  }
}

// A sync run ended Failed: the worker logs `Run <id> failed: <reason>` (a refusal, after its
// retries) or `Run <id> crashed` (an unexpected error), the same run id as its audit row.
resource failedRunsAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: 'alert-${baseName}-failed-runs'
  location: location
  tags: tags
  properties: {
    description: 'Sync runs failed: python -m shared audit ACCOUNT --details shows them.'
    displayName: 'Failed sync runs'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: failedRunsQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        empty(actionGroupId) ? alertGroup.id : actionGroupId
      ]
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Flex Consumption plan and Function App
// ---------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // Linux.
    reserved: true
    zoneRedundant: zoneRedundant
  }
  // checkov:skip=CKV_AZURE_225:zone redundancy is the zoneRedundant parameter (off by default: always-ready instances billed while idle; queued runs survive a zone outage)
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Outbound through the VNet: Storage and Key Vault accept only it (see publicNetworkAccess).
    virtualNetworkSubnetId: appSubnet.id
    // checkov:skip=CKV_AZURE_222:Dataverse posts its webhooks from the internet and operators call the admin API; both authenticate (function keys, Entra)
    // checkov:skip=CKV_AZURE_17:Dataverse webhooks cannot present client certificates; callers authenticate with function keys or Entra tokens
    // checkov:skip=CKV_AZURE_212:numberOfWorkers does not apply to Flex Consumption, which scales per function up to maximumInstanceCount
    // checkov:skip=CKV_AZURE_213:Flex Consumption has no App Service health check; the deploy smoke check calls the admin API's health route
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Flex sets the runtime in functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and
      // FUNCTIONS_EXTENSION_VERSION must not be app settings here.
      appSettings: [
        {
          // Host storage (and the product's tables) through the app identity.
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          // Prefix match => identity connection for connection="ServiceBusConnection".
          name: 'ServiceBusConnection__fullyQualifiedNamespace'
          value: '${serviceBus.name}.servicebus.windows.net'
        }
        {
          name: 'SYNC_QUEUE_BACKEND'
          value: 'ServiceBus'
        }
        {
          name: 'SYNC_QUEUE_NAME'
          value: syncQueue.name
        }
        {
          name: 'DATAVERSE_URL'
          value: dataverseUrl
        }
        {
          name: 'DATAVERSE_TENANT_ID'
          value: dataverseTenantId
        }
        {
          name: 'DATAVERSE_CLIENT_ID'
          value: dataverseClientId
        }
        {
          // Resolved by the platform with the app identity (Key Vault Secrets User below);
          // the secret value never appears in app settings or deployment history.
          name: 'DATAVERSE_CLIENT_SECRET'
          value: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=dataverse-client-secret)'
        }
        {
          // The key Dataverse sends with each webhook post (webhookKeySecret above); the same
          // value is the webhook function's key `dynamics-webhook` (README: Webhooks).
          name: 'DYNAMICS_WEBHOOK_KEY'
          value: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=dynamics-webhook-key)'
        }
        {
          name: 'DOTDIGITAL_DISCOVERY_URL'
          value: 'https://r1-api.dotdigital.com'
        }
        {
          // Platform passwords named by account rows are read from here by name.
          name: 'KEY_VAULT_URL'
          value: keyVault.properties.vaultUri
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          // The app exports its own telemetry (shared/telemetry: azure-monitor-opentelemetry).
          // This tells the Python worker so: it announces it to the host, which (with host.json's
          // telemetryMode OpenTelemetry) then stops relaying the app's log lines a second time,
          // and each invocation starts in the host's trace context. Not
          // PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: with that the worker would configure
          // Azure Monitor a second time in the same process.
          name: 'PYTHON_ENABLE_OPENTELEMETRY'
          value: 'true'
        }
        {
          name: 'AUDIT_RETENTION_DAYS'
          value: '30'
        }
        {
          // Overrides host.json's extensions.serviceBus.maxConcurrentCalls.
          name: 'AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls'
          value: string(serviceBusMaxConcurrentCalls)
        }
        {
          name: 'DATAVERSE_MAX_CONCURRENCY'
          value: string(dataverseMaxConcurrency)
        }
        {
          name: 'CONSOLE_FRAME_ANCESTORS'
          value: consoleFrameAncestors
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  // The host needs its storage from the first start: with private endpoints, names resolve to
  // them only once the DNS zones are linked and the endpoints registered. A new webhook key is
  // in the vault before the app starts: the app refuses to start with an unresolved reference.
  dependsOn: [
    webhookKeySecret
    deploymentContainer
    storageDnsGroups
    storageDnsLinks
    vaultDnsGroup
    vaultDnsLink
  ]
}

// The host's own logs (FunctionAppLogs: starts, invocations, errors) beside the app's telemetry.
resource functionAppDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: functionApp
  properties: {
    workspaceId: logAnalytics.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// Role assignments for the app's system-assigned identity
// ---------------------------------------------------------------------------------------------
// Names use functionApp.id (known at compile time), not the principal id (only known after
// the app exists), so they are deterministic and redeployments are idempotent.

// Host storage and the Flex deployment container (blob leases, timer locks, package).
resource storageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roleIds.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Host internals use storage queues; also the StorageQueue backend if ever selected.
resource storageQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roleIds.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageQueueDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The product's state: accounts, schedules, sync state, audit.
resource storageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roleIds.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageTableDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The worker's Service Bus trigger (management roles like Owner are not enough).
resource serviceBusDataReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, functionApp.id, roleIds.serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.serviceBusDataReceiver)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The scheduler, webhook and admin API enqueue sync requests.
resource serviceBusDataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, functionApp.id, roleIds.serviceBusDataSender)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.serviceBusDataSender)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault references in app settings and direct reads of platform passwords (read only).
resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, functionApp.id, roleIds.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------
// Role assignments for the provisioning identity (provisionerObjectId, when given)
// ---------------------------------------------------------------------------------------------
// The deploy identity assigns them, as it does the app's: Role Based Access Control
// Administrator on the group, which may be constrained to the roles in roleIds.

// Reads the app's settings and the webhook function's key (`az functionapp config appsettings
// list`, `az functionapp function keys list`); changes nothing in the app.
resource provisionerWebsiteContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(provisionerObjectId)) {
  name: guid(functionApp.id, provisionerObjectId, roleIds.websiteContributor)
  scope: functionApp
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.websiteContributor)
    principalId: provisionerObjectId
    principalType: 'ServicePrincipal'
  }
}

// `webhooks register` records the organization in WebhookRegistrations and reads the mappings;
// the Table Storage client creates any missing table on first contact, which takes the
// account-wide role (a table-scoped one is refused at that first call).
resource provisionerTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(provisionerObjectId)) {
  name: guid(storage.id, provisionerObjectId, roleIds.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageTableDataContributor)
    principalId: provisionerObjectId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (the deploy workflow reads functionAppName)
// ---------------------------------------------------------------------------------------------

output functionAppName string = functionApp.name
// The most Dataverse requests in flight these parameters allow (the budget above: <= 52).
output dataverseRequestsInFlight int = maximumInstanceCount * serviceBusMaxConcurrentCalls * dataverseMaxConcurrency
// The app's one outbound address (NAT gateway), for an API user's IP allowlist.
output outboundIpAddress string = outboundIp.properties.ipAddress
output keyVaultName string = keyVault.name
